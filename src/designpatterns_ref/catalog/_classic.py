"""The classic design problems: the first families of the library.

Part of :mod:`designpatterns_ref.catalog`, which keeps the order of the whole catalog.
"""

from __future__ import annotations

from designpatterns_ref.catalog import _P, CaseStudy, Source, _mods

__all__ = ["STUDIES"]

_MESSAGING = ["base", "memory", "sqlite", "redis", "inbox", "receipts", "presence", "server"]
_MESSAGING += ["token", "gateway", "client", "faults"]

STUDIES: tuple[CaseStudy, ...] = (
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
            ["ot", "crdt", "sequence", "rga", "fugue", "fuguemax", "traces", "wire", "sync"],
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
)
