# %% [markdown]
# # Design a Membership Benefits & Verification Platform
#
# A platform serves nine partner organisations (unions, professional bodies, a motoring club)
# and their members, many of whom belong to more than one. Partners' apps ask one question,
# thousands of times a second: *is this member entitled to this benefit?* And the platform
# wants members to use their benefits, without flooding them with offers from nine senders.
#
# Three decisions carry the design:
#
# 1. **Eligibility is data**: each organisation's rules are a versioned `RuleSet` of
#    `Rule(fact, op, value, reason)`, evaluated in full so a "no" lists *every* reason.
# 2. **One cached verification API**, `verify(member, organisation, benefit)`, whose cache is
#    invalidated by the directory on every membership change, so it is never stale.
# 3. **A global per-member cap** on offers across all organisations, with an explore/exploit
#    policy choosing which benefit to show.

# %%
import json
import threading
import time
import urllib.error
import urllib.request

import designpatterns_ref as dp
from designpatterns_ref.membership import Rule, RuleSet, Verifier, evaluate, generate
from designpatterns_ref.membership.engagement import (
    EpsilonGreedy,
    RandomPolicy,
    ThompsonSampling,
    simulate,
)
from designpatterns_ref.membership.plot import plot_engagement

# %% [markdown]
# ## Rules as data, every reason for a "no"
#
# A rule names a fact of the membership record, an operator, a value and the reason to give
# when it fails. Common rules apply to every benefit; each benefit adds its own.

# %%
club = RuleSet(
    "motor-club",
    version=2,
    common=(
        Rule("status", "==", "active", "membership not active"),
        Rule("dues_paid", "==", True, "dues not paid"),
    ),
    benefits={
        "breakdown-cover": (Rule("months", ">=", 3, "needs 3 months of membership"),),
        "europe-cover": (
            Rule("tier", "in", ("silver", "gold"), "silver or gold tier only"),
            Rule("age", ">=", 21, "drivers 21 or over"),
        ),
    },
)
young = {"status": "active", "dues_paid": False, "tier": "standard", "months": 14, "age": 19}
print(evaluate(club, "breakdown-cover", young))
print(evaluate(club, "europe-cover", young).reasons)
print(evaluate(club, "europe-cover", None).reasons)

# %% [markdown]
# ## One verification API, cached, invalidated on change
#
# `generate` makes a seeded directory: members in one to three of nine organisations. The
# `Verifier` caches each answer; the `Directory` tells it about every change *before* the
# change returns, so the next answer is fresh.

# %%
directory, rules = generate(5_000, seed=7)
verifier = Verifier(directory, rules)
print(len(rules), "organisations,", len(directory), "memberships")
member = next(m for m in directory.members() if len(directory.organisations_of(m)) == 3)
org = directory.organisations_of(member)[0]
print(member, directory.organisations_of(member))
print(directory.facts(member, org))
for benefit in sorted(rules[org].benefits):
    print(f"  {benefit:16} {verifier.verify(member, org, benefit)}")
directory.update(member, org, {"status": "suspended"})
print("after suspension:", verifier.verify(member, org, "legal-advice").reasons)
print(verifier.stats)

# %% [markdown]
# ## Offers without spam
#
# Each day a member may get one offer, but at most `cap` in any 7 days across all nine
# organisations. The simulation's members engage with a hidden rate per benefit, lowered by
# fatigue (each recent offer cuts the chance of engaging with the next). A policy picks among
# the benefits the verifier says the member is eligible for.

# %%
kw = {"members": 1_000, "days": 42, "window": 7, "seed": 3}
reports = [
    simulate(RandomPolicy(seed=1), cap=None, **kw),
    simulate(RandomPolicy(seed=1), cap=2, **kw),
    simulate(EpsilonGreedy(0.1, seed=1), cap=2, **kw),
    simulate(ThompsonSampling(seed=1), cap=2, **kw),
]
for r in reports:
    print(f"{r.policy:22} cap {r.cap or '-'}: {r.sends:6,} sends, {r.engagements:5,} engaged "
          f"({r.rate:.1%}), most in any 7 days: {r.max_in_window}")  # fmt: skip

# %%
fig = plot_engagement(reports)
if path := dp.show(fig, "membership-engagement"):
    print("figure saved to", path)

# %% [markdown]
# Without a cap a member gets an offer every day and engages with few; the cap sends about a
# third as many offers for nearly as many engagements, and a learning policy (epsilon-greedy or
# Thompson sampling) gets more from each offer than a random choice.
#
# ## The HTTP API
#
# `create_app(verifier, clients)` serves `POST /v1/verify` (FastAPI, the `api` extra) with one
# API key and one token bucket per client. Here a real uvicorn server runs on a free
# loopback port for a moment.

# %%
try:
    import uvicorn

    from designpatterns_ref.membership.api import create_app
    from designpatterns_ref.testing import free_port
except ImportError:
    print("the api extra is not installed: skipping the HTTP part")
else:
    app = create_app(verifier, {"partner-a-key": (100.0, 200), "partner-b-key": (1.0, 2)})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the socket is bound

    def post(body: object, key: str) -> tuple[int, dict[str, object]]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/verify",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-API-Key": key})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    query = {"member": member, "organisation": org, "benefit": "legal-advice"}
    print(post(query, "partner-a-key"))
    print(post(query, "no-such-key"))
    print([post(query, "partner-b-key")[0] for _ in range(4)])  # burst of 2, then 429
    print(post({"member": 7}, "partner-a-key"))
    server.should_exit = True
    thread.join(timeout=10)
