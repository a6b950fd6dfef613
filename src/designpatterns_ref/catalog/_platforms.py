"""Platform design problems: booking, delivery, notifications, identity and more.

Part of :mod:`designpatterns_ref.catalog`, which keeps the order of the whole catalog.
"""

from __future__ import annotations

from designpatterns_ref.catalog import CaseStudy, Source, _mods

__all__ = ["STUDIES"]

STUDIES: tuple[CaseStudy, ...] = (
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
        "Know which hospital beds are free, being cleaned or reserved, as it happens.",
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
                "statuslist",
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
