"""The case-study catalog: every system-design case study the library teaches.

Each :class:`CaseStudy` names its slug, title, the one-line problem, the decision at its heart,
the concept it teaches, the family and modules that implement it, whether it is built yet
(``status``), its docs page and its primary sources (the company's own engineering write-up or
the paper, where one exists).

>>> from designpatterns_ref.catalog import case_study, catalog
>>> case_study("news-feed").family
'feed'
>>> sum(1 for c in catalog() if c.slug.startswith("design")) == 0
True
>>> case_study("rate-limitr")
Traceback (most recent call last):
...
designpatterns_ref.catalog.UnknownCaseStudy: unknown case study 'rate-limitr'; ...
"""

from __future__ import annotations

from dataclasses import dataclass

from designpatterns_ref.errors import NotFound, shown

__all__ = [
    "FAMILY_USES",
    "CaseStudy",
    "Source",
    "Status",
    "UnknownCaseStudy",
    "case_study",
    "catalog",
    "family_uses",
]

TYPE_CHECKING = False  # typing stays unimported: `import designpatterns_ref` loads this module
if TYPE_CHECKING:
    from typing import Literal

    Status = Literal["implemented", "planned"]
else:
    Status = str  # at run time only a name: "implemented" or "planned"


class UnknownCaseStudy(NotFound, KeyError):
    """No case study has that slug; the message lists the close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Source:
    """A primary source: an engineering write-up, a paper or a standard."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class CaseStudy:
    """One case study: what problem it poses, what it decides, and where the code is."""

    slug: str
    title: str
    problem: str
    decision: str
    concept: str
    family: str
    modules: tuple[str, ...] = ()
    status: Status = "planned"
    sources: tuple[Source, ...] = ()

    @property
    def docs_page(self) -> str:
        """The case study's page, relative to the repository root."""
        return f"docs/case-studies/{self.slug}.md"


_P = "designpatterns_ref."


def _mods(family: str, names: list[str]) -> tuple[str, ...]:
    """The family's package, then its modules ``names``, as importable names."""
    return (_P + family, *(f"{_P}{family}.{name}" for name in names))


#: The modules of the chat-app case study.
_MESSAGING = ["base", "memory", "sqlite", "redis", "inbox", "receipts", "presence", "server"]
_MESSAGING += ["token", "gateway", "client", "faults"]
_SLACK = ["hashring", "directory", "channelserver", "edge", "cluster", "gateway", "client"]
_SLACK += ["loadgen", "receivers", "naive", "capacity"]

_CATALOG: tuple[CaseStudy, ...] = (
    CaseStudy(
        "rate-limiter",
        "Design a Rate Limiter",
        "Token bucket, leaky bucket, fixed window, sliding window: which algorithm, "
        "and where does the counter live?",
        "Choose the algorithm by the promise you need (bursts allowed, or a hard cap in every "
        "window) and keep the counter where every server sees it, updated atomically in one "
        "round trip.",
        "atomic counters, shared state",
        "ratelimit",
        _mods(
            "ratelimit",
            [
                "token_bucket",
                "units",
                "gcra",
                "leaky_bucket",
                "leaky_queue",
                "fixed_window",
                "sliding_log",
                "sliding_counter",
                "concurrency",
                "composite",
                "notation",
                "blocking",
                "redis",
                "sqlite",
                "simulate",
                "traffic",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Stripe: Scaling your API with rate limiters",
                "https://stripe.com/blog/rate-limiters",
            ),
            Source(
                "Cloudflare: How we built rate limiting capable of scaling to millions of domains",
                "https://blog.cloudflare.com/counting-things-a-lot-of-different-things/",
            ),
        ),
    ),
    CaseStudy(
        "url-shortener",
        "Design a URL Shortener (bit.ly)",
        "6-character codes that redirect billions of times a day: deceptively simple to "
        "design wrong.",
        "Mint codes from a counter leased in ranges (no collisions, no coordination per code) "
        "or from a hash (idempotent, but collisions must be handled); hide the order with a "
        "keyed permutation if it matters.",
        "ID generation, the birthday bound",
        "shortcode",
        _mods(
            "shortcode",
            [
                "base62",
                "obfuscate",
                "tuples",
                "avoiding",
                "blocklist",
                "counter",
                "ranges",
                "hashing",
                "birthday",
                "snowflake",
                "store",
                "service",
                "redis",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Flickr: Ticket Servers: Distributed Unique Primary Keys on the Cheap",
                "https://code.flickr.net/2010/02/08/ticket-servers-distributed-unique-primary-keys-on-the-cheap/",
            ),
        ),
    ),
    CaseStudy(
        "search-autocomplete",
        "Design a Search Autocomplete System",
        "Typing 'iph' shows 'iPhone 15' in under 100 ms. Trie, prefix cache, or Elasticsearch?",
        "Precompute the top k at every prefix (fast reads, costly updates) or search a trie "
        "guided by subtree maxima (cheap updates, bounded search); both beat collecting "
        "every match.",
        "precomputation versus query-time work",
        "autocomplete",
        _mods(
            "autocomplete",
            ["trie", "radix", "topk", "sorted_index", "frozen", "storage", "text", "corpus"],
        ),
        status="implemented",
        sources=(
            Source(
                "Hsu and Ottaviano: Space-Efficient Data Structures for Top-k Completion "
                "(WWW 2013)",
                "https://doi.org/10.1145/2488388.2488440",
            ),
        ),
    ),
    CaseStudy(
        "ride-sharing",
        "Design a Ride-Sharing App (Uber / Lyft)",
        "Matching riders to nearby drivers in real time: geospatial indexing, supply and "
        "demand pricing, trip state machines.",
        "Bucket drivers into cells (geohash) for O(1) location updates and search rings of "
        "cells outward with an exact stopping rule; price by demand over supply per cell.",
        "geospatial indexing",
        "geo",
        _mods(
            "geo",
            [
                "geohash",
                "geohash_codec",
                "geohash_neighbours",
                "geohash_int",
                "geohash_cover",
                "sphere",
                "brute",
                "geohash_index",
                "h3_index",
                "h3_surge",
                "quadtree",
                "redis",
                "dispatch",
                "surge",
                "trip",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Uber Engineering: H3, Uber's Hexagonal Hierarchical Spatial Index",
                "https://www.uber.com/blog/h3/",
            ),
        ),
    ),
    CaseStudy(
        "news-feed",
        "Design a Social News Feed (Twitter / LinkedIn)",
        "Fan-out on write versus fan-out on read: the core trade-off that shapes every social "
        "feed architecture.",
        "Push posts into followers' timelines for cheap reads, pull celebrities' posts at read "
        "time so one post does not cost millions of writes: a hybrid.",
        "fan-out, precomputation",
        "feed",
        _mods("feed", ["push", "pull", "hybrid", "memory", "redis", "graphs", "simulation"]),
        status="implemented",
        sources=(
            Source(
                "Raffi Krikorian: Timelines at Scale (QCon San Francisco 2012)",
                "https://www.infoq.com/presentations/Twitter-Timeline-Scalability/",
            ),
        ),
    ),
    CaseStudy(
        "collaborative-editor",
        "Design a Collaborative Document Editor (Google Docs)",
        "Two users edit the same paragraph simultaneously: how do you merge their changes "
        "without losing either?",
        "Transform concurrent operations against each other through a central server (OT), or "
        "give every character a unique identity so replicas merge in any order (CRDT).",
        "eventual consistency, convergence",
        "collab",
        _mods(
            "collab",
            [
                "ot",
                "otserver",
                "crdt",
                "integration",
                "sequence",
                "rga",
                "fugue",
                "fuguemax",
                "traces",
                "serverorder",
                "wire",
                "sync",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Gentle and Kleppmann: Collaborative Text Editing with Eg-walker (EuroSys 2025)",
                "https://arxiv.org/abs/2409.14252",
            ),
            Source(
                "Weidner and Kleppmann: The Art of the Fugue: Minimizing Interleaving in "
                "Collaborative Text Editing",
                "https://arxiv.org/abs/2305.00583",
            ),
        ),
    ),
    CaseStudy(
        "news-score",
        "Design a Clinical NEWS Score Calculator API",
        "An endpoint that takes vital measurements, validates them, scores them against "
        "clinical ranges, and returns a risk score, safely and extensibly.",
        "Keep the clinical rules as data read by one engine, validate before scoring, report "
        "every problem at once, and never guess a missing or implausible value.",
        "validation, rules as data",
        "clinical",
        _mods("clinical", ["news2", "news2012", "rules", "engine", "result", "compiled", "api"]),
        status="implemented",
        sources=(
            Source(
                "Royal College of Physicians: National Early Warning Score (NEWS) 2 (2017)",
                "https://www.rcp.ac.uk/improving-care/resources/national-early-warning-score-news-2/",
            ),
        ),
    ),
    CaseStudy(
        "photo-sharing",
        "Design a Photo Sharing App (Instagram-Style)",
        "Time-sortable IDs minted on many machines without coordination, and a feed of the "
        "photos of the people you follow.",
        "Mint IDs as time, shard and sequence bits (Snowflake) so they sort by time with no "
        "central counter; serve feeds by hybrid fan-out.",
        "ID generation, fan-out",
        "shortcode, feed",
        (_P + "shortcode.snowflake", _P + "feed"),
        status="implemented",
        sources=(
            Source(
                "Instagram Engineering: Sharding & IDs at Instagram",
                "https://instagram-engineering.com/sharding-ids-at-instagram-1cf5a71e5a5c",
            ),
            Source(
                "Twitter Engineering: Announcing Snowflake",
                "https://blog.x.com/engineering/en_us/a/2010/announcing-snowflake",
            ),
        ),
    ),
    CaseStudy(
        "chat-app",
        "Design a Real-Time Chat App (WhatsApp / Messenger)",
        "Deliver messages in order, exactly once as the user sees it, to devices that come and go.",
        "Give each conversation a sequence, acknowledge per device, and make delivery "
        "idempotent so retries are safe.",
        "ordering, idempotency",
        "messaging",
        _mods("messaging", _MESSAGING),
        status="implemented",
        sources=(
            Source(
                "Discord: How Discord Stores Billions of Messages",
                "https://discord.com/blog/how-discord-stores-billions-of-messages",
            ),
        ),
    ),
    CaseStudy(
        "slack-gateway",
        "Slack's WebSocket Gateway: 1M Concurrent Connections",
        "Hold a million long-lived connections and fan each channel's events out to the right "
        "ones.",
        "Terminate connections in stateless gateways, subscribe them to channel servers found "
        "by consistent hashing, and run each gateway as an event loop.",
        "event loops, consistent hashing",
        "messaging",
        _mods("messaging", _SLACK),
        status="implemented",
        sources=(
            Source(
                "Slack Engineering: Real-time Messaging",
                "https://slack.engineering/real-time-messaging/",
            ),
        ),
    ),
    CaseStudy(
        "discord-read-states",
        "Discord's Read States: Rewriting a Go Service in Rust",
        "A hot cache of billions of read markers whose latency spiked every two minutes with "
        "garbage collection.",
        "Keep the same LRU design but move it to a runtime without a tracing collector, so "
        "latency no longer depends on heap size.",
        "caching, tail latency",
        "messaging",
        _mods("messaging", ["readstates", "readstore", "gclab", "plot"]),
        status="implemented",
        sources=(
            Source(
                "Discord: Why Discord is switching from Go to Rust",
                "https://discord.com/blog/why-discord-is-switching-from-go-to-rust",
            ),
        ),
    ),
    CaseStudy(
        "github-vitess",
        "GitHub's Migration from MySQL to Vitess",
        "One MySQL cluster cannot hold the whole product: how do you shard it without stopping "
        "the site?",
        "Partition tables into functional groups first, then shard by key behind a routing "
        "layer (Vitess) so the application sees one database.",
        "sharding, online migration",
        "sharding",
        _mods(
            "sharding",
            [
                "base",
                "modulo",
                "ring",
                "rendezvous",
                "jump",
                "maglev",
                "slots",
                "keyspace",
                "sql",
                "router",
                "resharding",
                "jobs",
                "verify",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "GitHub Blog: Partitioning GitHub's relational databases to handle scale",
                "https://github.blog/engineering/infrastructure/partitioning-githubs-relational-databases-scale/",
            ),
        ),
    ),
    CaseStudy(
        "notion-postgres",
        "Notion's Postgres Migration: rethinking the schema",
        "A single Postgres holding every block outgrew its machine.",
        "Shard by workspace so one user's blocks live together, into many logical shards over "
        "few physical hosts, and migrate with double writes and a verified backfill.",
        "sharding, storage",
        "sharding",
        _mods("sharding", ["logical", "schema", "sql", "plot"]),
        status="implemented",
        sources=(
            Source(
                "Notion: Herding elephants: lessons learned from sharding Postgres at Notion",
                "https://www.notion.com/blog/sharding-postgres-at-notion",
            ),
        ),
    ),
    CaseStudy(
        "uber-postgres-mysql",
        "Uber's Decision to Move from Postgres to MySQL",
        "Write amplification and replication costs of Postgres's MVCC at Uber's update rate.",
        "Compare how each engine versions rows and updates indexes, and choose the one whose "
        "MVCC costs fit an update-heavy workload.",
        "MVCC, replication",
        "storage",
        _mods(
            "storage",
            [
                "base",
                "heap",
                "heap_visibility",
                "heap_page",
                "vacuum",
                "clustered",
                "btree",
                "wal",
                "mvcc",
                "reference",
                "workload",
                "postgres",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Uber Engineering: Why Uber Engineering Switched from Postgres to MySQL",
                "https://www.uber.com/blog/postgres-to-mysql-migration/",
            ),
        ),
    ),
    CaseStudy(
        "netflix-chaos",
        "Netflix's Chaos Engineering",
        "How do you know the system survives an instance, a zone or a region failing?",
        "Inject failures on purpose, in production, against a steady-state hypothesis, and "
        "build the fallbacks that make them harmless.",
        "resilience, fault injection",
        "resilience",
        _mods(
            "resilience",
            [
                "breaker",
                "window",
                "retry",
                "backoff",
                "budget",
                "bulkhead",
                "timeout",
                "fallback",
                "hedge",
                "compose",
                "redis",
                "chaos",
                "chaos.faults",
                "chaos.proxy",
                "chaos.echo",
                "chaos.monkey",
                "chaos.contention",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source("Principles of Chaos Engineering", "https://principlesofchaos.org/"),
            Source(
                "Netflix Technology Blog: The Netflix Simian Army",
                "https://netflixtechblog.com/the-netflix-simian-army-16e57fbab116",
            ),
            Source(
                "AWS Architecture Blog: Exponential Backoff And Jitter",
                "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/",
            ),
            Source(
                "resilience4j: CircuitBreaker",
                "https://resilience4j.readme.io/docs/circuitbreaker",
            ),
            Source(
                "Dean and Barroso: The Tail at Scale (CACM, 2013)",
                "https://research.google/pubs/the-tail-at-scale/",
            ),
        ),
    ),
    CaseStudy(
        "shopify-modular-monolith",
        "Shopify's Modular Monolith",
        "A huge Rails monolith where every change touches everything.",
        "Keep one deployable but cut it into components with enforced boundaries and public "
        "interfaces, instead of splitting into microservices.",
        "module boundaries",
        "boundaries",
        _mods(
            "boundaries",
            [
                "discovery",
                "scan",
                "graph",
                "cache",
                "config",
                "rules",
                "todo",
                "report",
                "run",
                "verdict",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Shopify Engineering: Deconstructing the Monolith",
                "https://shopify.engineering/deconstructing-monolith-designing-software-maximizes-developer-productivity",
            ),
            Source(
                "Shopify Engineering: Enforcing Modularity in Rails Apps with Packwerk",
                "https://shopify.engineering/enforcing-modularity-rails-apps-packwerk",
            ),
        ),
    ),
    CaseStudy(
        "video-streaming",
        "Design a Video Streaming Platform",
        "Serve video to every device and network, starting fast and never stalling.",
        "Encode each title into a ladder of bitrates, cut it into segments, push them to CDN "
        "edges, and let the client adapt the bitrate to its measured throughput.",
        "adaptive bitrate, CDNs",
        "streaming",
        _mods(
            "streaming",
            [
                "base",
                "checks",
                "session",
                "throughput",
                "bba",
                "bola",
                "dynamic",
                "mpc",
                "data",
                "upload",
                "transcode",
                "manifests",
                "ladder",
                "manifest_numbers",
                "playlists",
                "dash",
                "dash_templates",
                "encode",
                "caches",
                "tinylfu",
                "cdn",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Netflix Technology Blog: Per-Title Encode Optimization",
                "https://netflixtechblog.com/per-title-encode-optimization-7e99442b62a2",
            ),
            Source(
                "Spiteri, Sitaraman, Sparacio: From Theory to Practice: Improving Bitrate "
                "Adaptation in the DASH Reference Player (ACM MMSys 2018; the Sabre simulator)",
                "https://github.com/UMass-LIDS/sabre",
            ),
            Source(
                "Yin, Jindal, Sekar, Sinopoli: A Control-Theoretic Approach for Dynamic "
                "Adaptive Video Streaming over HTTP (ACM SIGCOMM 2015)",
                "https://doi.org/10.1145/2785956.2787486",
            ),
            Source(
                "Huang, Johari, McKeown, Trunnell, Watson: A Buffer-Based Approach to Rate "
                "Adaptation (ACM SIGCOMM 2014)",
                "https://doi.org/10.1145/2619239.2626296",
            ),
            Source(
                "Spiteri, Urgaonkar, Sitaraman: BOLA: Near-Optimal Bitrate Adaptation for "
                "Online Videos (IEEE INFOCOM 2016)",
                "https://arxiv.org/abs/1601.06748",
            ),
        ),
    ),
    CaseStudy(
        "hotel-booking",
        "Design a Hotel Booking System",
        "Never sell the same room-night twice, even when two guests click at once.",
        "Hold inventory per room type and night, reserve with a conditional update or a short "
        "hold that expires, and make booking requests idempotent.",
        "concurrency control, idempotency",
        "booking",
        _mods(
            "booking",
            [
                "base",
                "store",
                "pessimistic",
                "optimistic",
                "constraint",
                "naive",
                "holds",
                "overbooking",
                "search",
                "race",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "PostgreSQL documentation: Exclusion constraints",
                "https://www.postgresql.org/docs/current/ddl-constraints.html",
            ),
            Source(
                "Stripe: Designing robust and predictable APIs with idempotency",
                "https://stripe.com/blog/idempotency",
            ),
        ),
    ),
    CaseStudy(
        "food-delivery",
        "Design a Food Delivery App",
        "An order touches restaurant, courier and payment services that can each fail midway.",
        "Model the order as a durable workflow (a saga) with compensations, not a chain of "
        "synchronous calls.",
        "workflows, sagas",
        "workflows",
        _mods(
            "workflows",
            [
                "base",
                "machine",
                "order",
                "saga",
                "choreography",
                "durable",
                "outbox",
                "timers",
                "food",
                "worker",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Garcia-Molina and Salem: Sagas (SIGMOD 1987)",
                "https://www.cs.cornell.edu/andru/cs711/2002fa/reading/sagas.pdf",
            ),
            Source(
                "Temporal documentation: What is a Temporal Workflow?",
                "https://docs.temporal.io/workflows",
            ),
            Source(
                "Chris Richardson: Pattern: Transactional outbox",
                "https://microservices.io/patterns/data/transactional-outbox.html",
            ),
        ),
    ),
    CaseStudy(
        "push-notifications",
        "Design a Push Notification System",
        "Send millions of notifications through APNs and FCM without duplicates or floods.",
        "Queue per provider, deduplicate by key, rate-limit per user and retry with backoff.",
        "queues, retries",
        "notifications",
        _mods(
            "notifications",
            [
                "base",
                "templates",
                "quiet",
                "queues",
                "redis_streams",
                "redis_dedup",
                "providers",
                "send",
                "pipeline",
                "outbox",
                "worker",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Apple: Sending notification requests to APNs",
                "https://developer.apple.com/documentation/usernotifications/"
                "sending-notification-requests-to-apns",
            ),
            Source(
                "Firebase Cloud Messaging: Set the lifespan of a message and collapsible messages",
                "https://firebase.google.com/docs/cloud-messaging/concept-options",
            ),
            Source(
                "Redis: Streams (consumer groups, XREADGROUP, XACK, XAUTOCLAIM)",
                "https://redis.io/docs/latest/develop/data-types/streams/",
            ),
            Source(
                "AWS Architecture Blog: Exponential Backoff And Jitter",
                "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/",
            ),
            Source(
                "Chris Richardson: Pattern: Transactional outbox",
                "https://microservices.io/patterns/data/transactional-outbox.html",
            ),
        ),
    ),
    CaseStudy(
        "membership-benefits",
        "Design a Membership Benefits & Verification Platform",
        "Decide in real time whether a member is entitled to a benefit, from many partners' data.",
        "Keep eligibility as versioned rules over a verified membership record, cached at the "
        "edge with explicit expiry.",
        "rules engines, caching",
        "membership",
        _mods(
            "membership",
            ["base", "rules", "directory", "verify", "data", "engagement", "api", "plot"],
        ),
        status="implemented",
        sources=(
            Source(
                "Russo et al.: A Tutorial on Thompson Sampling",
                "https://arxiv.org/abs/1707.02038",
            ),
            Source(
                "RFC 6585: Additional HTTP Status Codes (429 Too Many Requests)",
                "https://www.rfc-editor.org/rfc/rfc6585",
            ),
        ),
    ),
    CaseStudy(
        "bed-logistics",
        "Design a Real-Time Bed Logistics System",
        "Show a municipality, as it happens, which beds in the care homes it places residents "
        "in are free, occupied, being cleaned or reserved.",
        "Model each bed as a state machine fed by events, and derive capacity views from the "
        "event stream.",
        "event sourcing, state machines",
        "capacity",
        _mods("capacity", ["base", "log", "projection", "service", "ownership", "fhir", "api"]),
        status="implemented",
        sources=(
            Source(
                "HL7 FHIR R4: Location (operationalStatus bound to HL7 v2 table 0116, bed status)",
                "https://hl7.org/fhir/R4/location.html",
            ),
            Source(
                "WHATWG HTML Living Standard: Server-sent events",
                "https://html.spec.whatwg.org/multipage/server-sent-events.html",
            ),
            Source(
                "Martin Fowler: Event Sourcing (2005)",
                "https://martinfowler.com/eaaDev/EventSourcing.html",
            ),
        ),
    ),
    CaseStudy(
        "worker-identity",
        "Design a Digital Worker Identity & Compliance Platform",
        "Prove a worker's identity and credentials to many employers, and revoke them promptly.",
        "Issue signed, expiring credentials with a revocation list, and keep an audit log of "
        "every check.",
        "identity, auditability",
        "identity",
        _mods(
            "identity",
            [
                "keys",
                "jws",
                "compact",
                "bitstring",
                "statuslist",
                "statuscache",
                "online",
                "issuer",
                "verifier",
                "audit",
                "compliance",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "W3C: Bitstring Status List v1.0",
                "https://www.w3.org/TR/vc-bitstring-status-list/",
            ),
            Source(
                "RFC 8037: CFRG Elliptic Curve Diffie-Hellman (ECDH) and Signatures in JOSE",
                "https://www.rfc-editor.org/rfc/rfc8037",
            ),
            Source(
                "RFC 9285: The Base45 Data Encoding",
                "https://www.rfc-editor.org/rfc/rfc9285",
            ),
        ),
    ),
    CaseStudy(
        "gig-marketplace",
        "Design a Free Local Gig Marketplace",
        "Match local jobs and workers and let both sides trust each other without payments.",
        "Rank by distance and reputation, with reputation built from verified completions and "
        "damped against new accounts and collusion.",
        "reputation, matching",
        "reputation",
        _mods(
            "reputation",
            [
                "bayes",
                "wilson",
                "stars",
                "decay",
                "ranking",
                "reviews",
                "rings",
                "market",
                "matching",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Evan Miller: How Not To Sort By Average Rating",
                "https://www.evanmiller.org/how-not-to-sort-by-average-rating.html",
            ),
            Source(
                "Evan Miller: Ranking Items With Star Ratings",
                "https://www.evanmiller.org/ranking-items-with-star-ratings.html",
            ),
            Source(
                "Wilson: Probable Inference, the Law of Succession, and Statistical Inference "
                "(JASA, 1927)",
                "https://doi.org/10.1080/01621459.1927.10502953",
            ),
        ),
    ),
    CaseStudy(
        "healthcare-serverless",
        "Design a Healthcare Patient Operations Platform (Serverless)",
        "Run patient operations on serverless functions without losing events or leaking data.",
        "Use managed queues between idempotent functions, keep state in managed stores, and "
        "encrypt and audit every access.",
        "serverless, idempotency",
        "serverless",
        _mods(
            "serverless",
            [
                "base",
                "scheduler",
                "queue",
                "function",
                "table",
                "objectstore",
                "idempotency",
                "singletable",
                "breaker",
                "loadlevel",
                "plot",
            ],
        ),
        status="implemented",
        sources=(
            Source(
                "Powertools for AWS Lambda (Python): Idempotency",
                "https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/",
            ),
            Source(
                "Amazon SQS Developer Guide: Visibility timeout",
                "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
                "sqs-visibility-timeout.html",
            ),
            Source(
                "Amazon DynamoDB Developer Guide: Best practices for designing and using "
                "partition keys effectively",
                "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                "bp-partition-key-design.html",
            ),
            Source(
                "AWS Lambda Developer Guide: Lambda function scaling",
                "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
            ),
        ),
    ),
)

_BY_SLUG = {c.slug: c for c in _CATALOG}


#: The families a family uses, through their public packages only (``from
#: designpatterns_ref.geo import GeohashIndex``, never a private module). Everything else is
#: independent: the package tests and the boundaries contract in ``pyproject.toml`` enforce it.
FAMILY_USES: dict[str, tuple[str, ...]] = {
    "booking": ("geo",),  # search by distance through the ride-sharing family's geohash index
    "notifications": ("ratelimit",),  # frequency caps and provider rate limits are its limiters
}


def family_uses(family: str) -> tuple[str, ...]:
    """The families ``family`` may use (by their public packages), often none.

    >>> family_uses("booking"), family_uses("geo")
    (('geo',), ())
    """
    return FAMILY_USES.get(family, ())


def catalog() -> tuple[CaseStudy, ...]:
    """Every case study, in the order of the design handbook."""
    return _CATALOG


def case_study(slug: str) -> CaseStudy:
    """The case study with this slug; an unknown slug raises with the close matches."""
    try:
        return _BY_SLUG[slug]
    except (KeyError, TypeError):
        pass
    close = _close_matches(slug if isinstance(slug, str) else shown(slug))  # str(int) may fail
    raise UnknownCaseStudy(f"unknown case study {shown(slug)}; did you mean: {', '.join(close)}?")


def _close_matches(text: str, n: int = 3) -> list[str]:
    """The slugs most like ``text``: those containing it first, then by similarity."""
    slugs = list(_BY_SLUG)
    contains = [s for s in slugs if text and text.lower() in s]
    import difflib  # only for a mistyped slug: kept off the import path

    ranked = sorted(slugs, key=lambda s: -difflib.SequenceMatcher(None, text.lower(), s).ratio())
    out: list[str] = []
    for s in contains + ranked:
        if s not in out:
            out.append(s)
    return out[:n]
