"""Engineering write-ups: how named companies solved a problem at scale.

Part of :mod:`designpatterns_ref.catalog`, which keeps the order of the whole catalog.
"""

from __future__ import annotations

from designpatterns_ref.catalog import CaseStudy, Source, _mods

__all__ = ["STUDIES"]

_SLACK = ["hashring", "directory", "channelserver", "edge", "cluster", "gateway", "client"]
_SLACK += ["loadgen", "capacity"]

STUDIES: tuple[CaseStudy, ...] = (
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
            ["scan", "graph", "cache", "config", "rules", "todo", "report", "run", "verdict"],
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
)
