/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. Written by hand
 * from spec/api.md (the prose is the contract; this is its machine-readable index).
 */
import { BACKGROUND_WORK } from '../ledger/types.js';
import { MAX_CREATOR_WORKS, MAX_NEAR_MATCHES, PAGE_LIMIT } from '../ledger/queries.js';
import { MAX_DERIVED_REPORTS } from '../ledger/reports.js';

const problem = { $ref: '#/components/responses/Problem' };
const hexHash = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const b64Hash = { type: 'string', contentEncoding: 'base64', description: 'standard padded base64 of a 32-byte hash' };
const proofList = { type: 'array', items: b64Hash };
const uint = { type: 'integer', minimum: 0, maximum: 9007199254740991 };
/** When an unclaimed manifest is removed; null once a training use claims it. */
const expires = { type: ['string', 'null'], format: 'date-time' };

const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const query = (name: string, schema: object, required = false, description?: string) => ({ name, in: 'query', required, schema, ...(description ? { description } : {}) });
const pathParam = (name: string, schema: object, description?: string) => ({ name, in: 'path', required: true, schema, ...(description ? { description } : {}) });
/** `?limit=&after=` of the paginated lists (spec/api.md, "Pages"). */
const pageParams = (cursor: object, cursorDescription: string) => [
  query('limit', { type: 'integer', minimum: 1, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default }, false, `items on the page (default ${PAGE_LIMIT.default}, at most ${PAGE_LIMIT.max}; else 400 bad-parameter)`),
  query('after', cursor, false, cursorDescription),
];
const useCursor = { type: 'string', pattern: '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$' };
const usePageParams = pageParams(useCursor, 'a `next` of the previous page, `<useIndex>.<position>` (the syntax of SSE event ids): items after it');
const nextCursor = (description: string) => ({ type: ['string', 'null'], description });
const useNext = nextCursor('the cursor of the last item on the page when more may follow (pass it as `after`), else null; a page may hold fewer than `limit` items, even none, while `next` is set');
const lineageTruncated = { type: 'boolean', description: `some item of the page has more derived models than get a report (${MAX_DERIVED_REPORTS}, nearest first)` };
const tileResponses = {
  '200': {
    description: 'Tile bytes. Full tiles: `Cache-Control: public, max-age=31536000, immutable`; partial tiles: `max-age=1`.',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  },
  '400': problem,
  '404': problem,
};

export const openapiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Provenance Ledger',
    version: '0.1.0',
    description:
      'A transparency log for consent to, and use of, creative works in AI training. tlog-tiles read API, record submission, manifests, proofs, creator/builder queries with offline-verifiable proof bundles, and Server-Sent Events. Errors are RFC 9457 problem documents.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: 'http://127.0.0.1:8080' }],
  paths: {
    '/checkpoint': {
      get: {
        summary: 'The latest published signed checkpoint (C2SP signed note)',
        tags: ['tlog-tiles'],
        responses: {
          '200': { description: 'Signed checkpoint; `Cache-Control: no-cache, max-age=1`', content: { 'text/plain; charset=utf-8': { schema: { type: 'string' } } } },
          '503': { ...problem, description: 'With witnesses: no checkpoint has reached the quorum yet (`not-witnessed`, Retry-After)' },
        },
      },
    },
    '/tile/{L}/{N}': {
      get: {
        summary: 'Hash tile (level L, index N); append `.p/<W>` to N for a partial tile of width W',
        tags: ['tlog-tiles'],
        parameters: [
          pathParam('L', { type: 'integer', minimum: 0, maximum: 6 }, 'tile level, decimal without leading zeros'),
          pathParam('N', { type: 'string', pattern: '^(x[0-9]{3}/)*[0-9]{3}(\\.p/[1-9][0-9]*)?$' }, 'tile index in 3-digit groups (`x001/234`), optionally `.p/<W>`'),
        ],
        responses: tileResponses,
      },
    },
    '/tile/entries/{N}': {
      get: {
        summary: 'Entry bundle N (u16 big-endian length + bytes per entry); `.p/<W>` for partial bundles',
        tags: ['tlog-tiles'],
        parameters: [pathParam('N', { type: 'string', pattern: '^(x[0-9]{3}/)*[0-9]{3}(\\.p/[1-9][0-9]*)?$' })],
        responses: tileResponses,
      },
    },
    '/log/vkey': {
      get: {
        summary: "The log's verifier key (`<name>+<key ID>+<base64 key>`)",
        tags: ['tlog-tiles'],
        responses: { '200': { description: 'Verifier key string', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/records': {
      post: {
        summary: 'Submit one DSSE envelope or an array of up to 1,000 (all-or-nothing)',
        tags: ['records'],
        parameters: [query('wait', { type: 'string', enum: ['checkpoint'] }, false, 'answer once the records are in a published checkpoint, with proofs')],
        requestBody: {
          required: true,
          description: 'At most 1 MiB.',
          content: {
            'application/json': {
              schema: { oneOf: [{ $ref: '#/components/schemas/Envelope' }, { type: 'array', minItems: 1, maxItems: 1000, items: { $ref: '#/components/schemas/Envelope' } }] },
            },
          },
        },
        responses: {
          '201': json({ oneOf: [{ $ref: '#/components/schemas/SubmitResult' }, { type: 'object', properties: { results: { type: 'array', items: { $ref: '#/components/schemas/SubmitResult' } } } }] }, 'Created'),
          '200': json({ oneOf: [{ $ref: '#/components/schemas/SubmitResult' }, { type: 'object', properties: { results: { type: 'array', items: { $ref: '#/components/schemas/SubmitResult' } } } }] }, 'Every record was already in the log'),
          '400': problem,
          '408': problem,
          '413': problem,
          '415': problem,
          '503': problem,
        },
      },
    },
    '/manifests': {
      post: {
        summary: 'Upload a manifest (streamed, any size); checked against root and count before it is stored. Unclaimed, it is removed at `expires` unless a training-use record naming its root is in the log by then',
        tags: ['manifests'],
        parameters: [query('root', hexHash, true), query('count', { ...uint, minimum: 1 }, true)],
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          '201': json({ $ref: '#/components/schemas/ManifestRef' }, 'Stored'),
          '200': json({ $ref: '#/components/schemas/ManifestRef' }, 'Already stored'),
          '400': problem,
          '409': problem,
          '413': { ...problem, description: 'A manifest of this count counts for more than a whole per-client quota (`manifest-too-large`, field `count`)' },
          '415': problem,
          '429': { ...problem, description: "The client address's quota of unclaimed manifest bytes is full (`unclaimed-quota`, Retry-After)" },
          '503': problem,
          '507': { ...problem, description: "The server's quota of unclaimed manifest bytes is full (`unclaimed-capacity`, Retry-After)" },
        },
      },
    },
    '/manifests/{root}': {
      get: {
        summary: 'A stored manifest and the training-use records that commit to it',
        tags: ['manifests'],
        parameters: [pathParam('root', hexHash)],
        responses: {
          '200': json({ type: 'object', properties: { root: hexHash, count: uint, useIndexes: { type: 'array', items: uint }, expires: expires }, required: ['root', 'count', 'useIndexes', 'expires'] }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/manifests/{root}/items': {
      get: {
        summary: 'The whole stored manifest in its byte format (header and items, spec/records.md), streamed; check it against the root before use',
        tags: ['manifests'],
        parameters: [pathParam('root', hexHash)],
        responses: {
          '200': {
            description: 'Manifest bytes; Content-Length 16 + 49 × count; `Cache-Control: public, max-age=31536000, immutable`.',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          '400': problem,
          '404': problem,
        },
      },
    },
    '/manifests/{root}/items/{position}': {
      get: {
        summary: 'One manifest item with its RFC 6962 inclusion proof in the manifest tree',
        tags: ['manifests'],
        parameters: [pathParam('root', hexHash), pathParam('position', uint)],
        responses: {
          '200': json({
            type: 'object',
            properties: { position: uint, item: { type: 'string', contentEncoding: 'base64' }, decoded: { type: 'object' }, proof: proofList, count: uint, root: hexHash },
            required: ['position', 'item', 'decoded', 'proof', 'count', 'root'],
          }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/proof/inclusion': {
      get: {
        summary: 'RFC 6962 inclusion proof, by index (and size) or by leaf hash',
        tags: ['proofs'],
        parameters: [query('index', uint), query('leafHash', hexHash), query('size', uint, false, 'default: the published checkpoint size')],
        responses: {
          '200': json({ type: 'object', properties: { index: uint, size: uint, leafHash: hexHash, proof: proofList }, required: ['index', 'size', 'leafHash', 'proof'] }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/proof/consistency': {
      get: {
        summary: 'RFC 6962 consistency proof between two tree sizes',
        tags: ['proofs'],
        parameters: [query('from', { ...uint, minimum: 1 }, true), query('to', uint, false, 'default: the published checkpoint size')],
        responses: {
          '200': json({ type: 'object', properties: { from: uint, to: uint, proof: proofList }, required: ['from', 'to', 'proof'] }),
          '400': problem,
        },
      },
    },
    '/entries/{index}': {
      get: {
        summary: 'One log entry and its decoded record payload (null if the entry is not a record)',
        tags: ['proofs'],
        parameters: [pathParam('index', uint)],
        responses: {
          '200': json({
            type: 'object',
            properties: { index: uint, leafHash: hexHash, entry: { type: 'string', contentEncoding: 'base64' }, record: { type: ['object', 'null'] } },
            required: ['index', 'leafHash', 'entry', 'record'],
          }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/works/{id}/uses': {
      get: {
        summary: 'One page of the declared uses of a work (one per training use), each with a proof bundle',
        tags: ['queries'],
        parameters: [pathParam('id', { $ref: '#/components/schemas/WorkId' }), ...usePageParams],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              work: { $ref: '#/components/schemas/WorkId' },
              checkpoint: { type: ['string', 'null'] },
              uses: { type: 'array', items: { $ref: '#/components/schemas/Use' } },
              next: useNext,
              lineageTruncated,
            },
            required: ['work', 'checkpoint', 'uses', 'next', 'lineageTruncated'],
          }),
          '400': problem,
        },
      },
    },
    '/works/{id}/consents': {
      get: {
        summary: 'One page of the consent records naming a work, with their status now',
        tags: ['queries'],
        parameters: [pathParam('id', { $ref: '#/components/schemas/WorkId' }), ...pageParams({ type: 'string', pattern: '^(0|[1-9][0-9]*)$' }, 'a `next` of the previous page (a grant index): consents after it')],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              work: { $ref: '#/components/schemas/WorkId' },
              consents: {
                type: 'array',
                items: { type: 'object', properties: { index: uint, author: { $ref: '#/components/schemas/KeyRef' }, record: { type: 'object' }, status: { type: 'string', enum: ['active', 'revoked', 'superseded', 'expired', 'void'] } } },
              },
              rulings: {
                type: 'array',
                description: 'Dispute rulings naming the work (first page only, the latest 100, absent when none): claims by attesters, which change no verdict the server gives (spec/policy.md §2, Rulings)',
                items: {
                  type: 'object',
                  properties: { index: uint, author: { $ref: '#/components/schemas/KeyRef' }, owner: { $ref: '#/components/schemas/KeyRef' }, work: { type: 'array', items: { $ref: '#/components/schemas/WorkId' } }, statement: { type: 'string' } },
                  required: ['index', 'author', 'owner', 'work'],
                },
              },
              next: nextCursor('the grant index of the last consent on the page when more may follow (pass it as `after`), else null'),
            },
            required: ['work', 'consents', 'next'],
          }),
          '400': problem,
        },
      },
    },
    '/works/similar': {
      get: {
        summary: 'Works whose perceptual identifier is within a Hamming distance',
        tags: ['queries'],
        parameters: [query('id', { $ref: '#/components/schemas/WorkId' }, true, 'a phash: or tcode: identifier'), query('max', { type: 'integer', minimum: 0, maximum: 20 }, false, 'largest distance (default: the scheme threshold)')],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              matches: {
                type: 'array',
                items: { type: 'object', properties: { work: { $ref: '#/components/schemas/WorkId' }, id: { $ref: '#/components/schemas/WorkId' }, distance: uint, consents: uint, uses: uint } },
              },
            },
          }),
          '400': problem,
        },
      },
    },
    '/creators/{key}/uses': {
      get: {
        summary: 'One page of the uses of the works the creator has granted or claimed, and of near copies of them',
        tags: ['queries'],
        parameters: [pathParam('key', { $ref: '#/components/schemas/KeyRef' }), ...usePageParams],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              creator: { $ref: '#/components/schemas/KeyRef' },
              works: { type: 'array', items: { $ref: '#/components/schemas/WorkId' }, description: `the work identifiers whose uses are listed: the creator's first ${MAX_CREATOR_WORKS}, in grant order` },
              worksTruncated: { type: 'boolean', description: 'the creator names more work identifiers than `works`; uses of the others are not listed here (ask /works/{id}/uses)' },
              uses: { type: 'array', items: { $ref: '#/components/schemas/Use' } },
              next: useNext,
              nearCopiesTruncated: { type: 'boolean', description: `more than ${MAX_NEAR_MATCHES} near-copy matches were found; some near copies may be missing from the page` },
              lineageTruncated,
            },
            required: ['creator', 'works', 'worksTruncated', 'uses', 'next', 'nearCopiesTruncated', 'lineageTruncated'],
          }),
          '400': problem,
        },
      },
    },
    '/identities/{key}': {
      get: {
        summary: "Who is behind a key, as the log records it: the creator record's claims, the rotation chain, the attestations about it — the server's claim, each part checkable against the log by its index",
        tags: ['queries'],
        parameters: [pathParam('key', { $ref: '#/components/schemas/KeyRef' })],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              claim: { type: 'string', description: "labels the answer as the server's claim: verifiers check each record by its log index and trust only the attesters of their own trust policy" },
              key: { $ref: '#/components/schemas/KeyRef' },
              identity: { $ref: '#/components/schemas/KeyRef', description: 'the first key of the rotation chain the key belongs to' },
              keys: {
                type: 'array',
                description: 'the keys of the identity in rotation order',
                items: {
                  type: 'object',
                  properties: {
                    key: { $ref: '#/components/schemas/KeyRef' },
                    rotationIndex: { type: 'integer', description: 'log index of the creator record that rotated to this key' },
                    creatorRecord: { type: 'integer', description: "log index of this key's latest creator record" },
                  },
                  required: ['key'],
                },
              },
              creator: {
                type: ['object', 'null'],
                description: "the latest creator record of the identity's keys: its name and claims (unchecked by the server)",
                properties: { index: { type: 'integer' }, key: { $ref: '#/components/schemas/KeyRef' }, name: { type: 'string' }, claims: { type: 'object' } },
              },
              attestations: {
                type: 'array',
                description: 'attestations about any key of the identity, by any attester, in log order',
                items: {
                  type: 'object',
                  properties: {
                    index: { type: 'integer' },
                    attester: { $ref: '#/components/schemas/KeyRef' },
                    subject: { $ref: '#/components/schemas/KeyRef' },
                    role: { type: 'string', enum: ['creator', 'builder', 'rights-holder', 'agent'] },
                    name: { type: 'string' },
                    identifiers: { type: 'array', items: { type: 'string' } },
                    validUntil: { type: 'string' },
                    revocation: { type: 'object', properties: { index: { type: 'integer' }, reason: { type: 'string' }, compromisedSince: { type: 'integer' } }, required: ['index'] },
                  },
                  required: ['index', 'attester', 'subject', 'role', 'name'],
                },
              },
            },
            required: ['claim', 'key', 'identity', 'keys', 'creator', 'attestations'],
          }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/models/{builder}/{model}': {
      get: {
        summary: "A model's declared uses, lineage and retirement",
        tags: ['queries'],
        parameters: [pathParam('builder', { $ref: '#/components/schemas/KeyRef' }), pathParam('model', { type: 'string', pattern: '^[^@]+@[^@]+$' }, '<name>@<version>')],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              model: { type: 'object' },
              uses: { type: 'array', items: { type: 'object', properties: { index: uint, items: uint, manifest: { type: ['object', 'null'] } } } },
              parents: { type: 'array' },
              children: { type: 'array' },
              retired: { type: ['object', 'null'], properties: { index: uint, time: { type: 'string' } } },
            },
          }),
          '400': problem,
          '404': problem,
        },
      },
    },
    '/events': {
      get: {
        summary: 'Server-Sent Events: each new use of the creator’s (or the given) works once it is in a published checkpoint',
        description: `Events: \`id: <useIndex>.<position>\`, \`event: use\`, \`data: <Use JSON>\`. Reconnect with \`Last-Event-ID\` to receive every later use first (replayed from the index a page at a time). \`event: claim\` (no \`id:\`, live only): a new grant names a work the creator (or a given work's creators) already claimed, \`data: {grantIndex, work, claimant, author, claimedBy}\`. \`: keepalive\` every 15 s. At most ${MAX_CREATOR_WORKS} \`work\` parameters.`,
        tags: ['notifications'],
        parameters: [
          query('creator', { $ref: '#/components/schemas/KeyRef' }),
          { name: 'work', in: 'query', required: false, schema: { type: 'array', items: { $ref: '#/components/schemas/WorkId' } }, style: 'form', explode: true },
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' } },
        ],
        responses: {
          '200': { description: 'Event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '400': problem,
          // too-many-streams, with Retry-After: per client address (429), in total (503).
          '429': problem,
          '503': problem,
        },
      },
    },
    '/healthz': {
      get: {
        summary: 'Liveness, progress, and background work that is failing',
        tags: ['operations'],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              status: { enum: ['ok', 'degraded'] },
              treeSize: uint,
              sequenced: uint,
              indexed: uint,
              failing: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { work: { enum: [...BACKGROUND_WORK] }, message: { type: 'string' }, since: { type: 'string', format: 'date-time' } },
                  required: ['work', 'message', 'since'],
                },
              },
            },
            required: ['status', 'treeSize', 'sequenced', 'indexed', 'failing'],
          }),
          '503': json({ type: 'object' }, 'Shutting down'),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (pvl_log_entries, pvl_tree_size, pvl_indexed_entries, pvl_append_seconds, pvl_records_rejected_total, pvl_http_requests_total, …)',
        tags: ['operations'],
        responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', tags: ['operations'], responses: { '200': json({ type: 'object' }) } },
    },
    '/stats': {
      get: {
        summary: 'Records by type, verdict totals of the declared items as judged when their use was logged, tree-size history',
        tags: ['queries'],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              treeSize: uint,
              indexed: { ...uint, description: "the query index's size" },
              judged: { ...uint, description: 'the verdict totals count every item of the training uses among the entries below this (≤ indexed; they are tallied behind the index)' },
              partial: {
                type: ['object', 'null'],
                properties: { useIndex: uint, position: uint },
                required: ['useIndex', 'position'],
                description: 'the totals also count the items below `position` of the training use at `useIndex` (= judged), which is being tallied; null otherwise',
              },
              records: { type: 'object', additionalProperties: uint },
              verdicts: { type: 'object', additionalProperties: uint, description: "each item judged once, at its use's own time from the records logged before the use; later records do not change it" },
              items: uint,
              history: { type: 'array', items: { type: 'object', properties: { size: uint, time: { type: 'string', format: 'date-time' } } } },
            },
          }),
        },
      },
    },
    '/': { get: { summary: 'The creator page (HTML); also /app.js, /app.js.map, /style.css', tags: ['page'], responses: { '200': { description: 'text/html' }, '404': problem } } },
  },
  components: {
    schemas: {
      KeyRef: { type: 'string', pattern: '^ed25519:[0-9a-f]{64}$' },
      WorkId: { type: 'string', pattern: '^(sha256:[0-9a-f]{64}|phash:[0-9a-f]{16}|pdq:[0-9a-f]{64}|tcode:[0-9a-f]{16})$' },
      Envelope: {
        type: 'object',
        description: 'DSSE envelope (spec/records.md)',
        properties: {
          payloadType: { const: 'application/vnd.provenance-ledger.record+json' },
          payload: { type: 'string', contentEncoding: 'base64' },
          signatures: { type: 'array', minItems: 1, maxItems: 1, items: { type: 'object', properties: { keyid: { $ref: '#/components/schemas/KeyRef' }, sig: { type: 'string' } } } },
        },
        required: ['payloadType', 'payload', 'signatures'],
      },
      SubmitResult: {
        type: 'object',
        properties: {
          index: uint,
          leafHash: hexHash,
          duplicate: { type: 'boolean' },
          checkpoint: { type: 'string', description: 'with ?wait=checkpoint: the signed checkpoint' },
          proof: { type: 'string', description: 'with ?wait=checkpoint: C2SP tlog-proof file' },
          inclusionProof: proofList,
          treeSize: uint,
        },
        required: ['index', 'leafHash'],
      },
      ManifestRef: { type: 'object', properties: { root: hexHash, count: uint, expires }, required: ['root', 'count', 'expires'] },
      Verdict: {
        type: 'object',
        properties: {
          verdict: { type: 'string' },
          consentIndex: uint,
          reason: { type: 'string' },
          distance: uint,
          compromisedKey: { type: 'object', properties: { key: { type: 'string' }, since: uint, recordIndex: uint }, required: ['key', 'since', 'recordIndex'] },
          grantedBy: {
            type: 'object',
            description: 'The deciding grant was made on the creator’s behalf under a delegation (spec/policy.md §2, Delegation)',
            properties: { agent: { $ref: '#/components/schemas/KeyRef' }, role: { type: 'string', enum: ['agent', 'rights-holder'] }, delegationIndex: uint },
            required: ['agent', 'role', 'delegationIndex'],
          },
        },
        required: ['verdict', 'reason'],
      },
      Model: { type: 'object', properties: { builder: { $ref: '#/components/schemas/KeyRef' }, name: { type: 'string' }, version: { type: 'string' } } },
      ProofBundle: {
        type: 'object',
        description: 'spec/bundles.md',
        properties: {
          type: { const: 'pvl.proof-bundle/v1' },
          origin: { type: 'string' },
          checkpoint: { type: 'string' },
          log: { type: 'object', properties: { index: uint, entry: { type: 'string', contentEncoding: 'base64' }, inclusionProof: proofList } },
          manifest: {
            type: ['object', 'null'],
            properties: { root: hexHash, count: uint, position: uint, item: { type: 'string', contentEncoding: 'base64' }, proof: proofList },
          },
          work: { $ref: '#/components/schemas/WorkId' },
          verdict: { $ref: '#/components/schemas/Verdict' },
        },
        required: ['type', 'origin', 'checkpoint', 'log', 'manifest', 'work', 'verdict'],
      },
      Use: {
        type: 'object',
        properties: {
          useIndex: uint,
          position: uint,
          model: { $ref: '#/components/schemas/Model' },
          via: { type: ['object', 'null'], properties: { lineageIndex: uint, model: { $ref: '#/components/schemas/Model' } } },
          item: { type: 'object' },
          verdict: { $ref: '#/components/schemas/Verdict' },
          bundle: { $ref: '#/components/schemas/ProofBundle' },
        },
        required: ['useIndex', 'position', 'model', 'via', 'item', 'verdict', 'bundle'],
      },
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem document',
        properties: { type: { type: 'string', format: 'uri' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, field: { type: 'string' }, code: { type: 'string' } },
        required: ['type', 'title', 'status', 'detail', 'code'],
      },
    },
    responses: {
      Problem: { description: 'RFC 9457 problem document', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    },
  },
} as const;
