# %% [markdown]
# # Design a Push Notification System: each user gets each notification once, within caps
#
# A marketing team sends three campaigns to every user; a security alert must go out at once.
# Users live in five time zones and sleep from 22:00 to 07:00 their time; nobody should get more
# than two promotions a day per channel; the push services fail now and then. This notebook runs
# the whole pipeline (accept, expand, filter, render, send, record) on a simulated clock and
# checks the promises one by one.

# %%
from collections import Counter
from datetime import UTC, datetime

import designpatterns_ref as dp
from designpatterns_ref.notifications import Notification, Pipeline, default_providers
from designpatterns_ref.notifications.plot import plot_fates, plot_local_hours
from designpatterns_ref.notifications.simulate import START, campaign_pipeline, send_campaign

# %% [markdown]
# ## 1. A campaign through quiet hours, caps and a flaky provider
#
# 2,000 users, one to three devices each, providers failing 5% of the time (retried with
# exponential backoff and jitter). The frequency caps are `FixedWindow` limiters from
# `designpatterns_ref.ratelimit`, one family reusing another through its public package.

# %%
p = send_campaign(campaign_pipeline(users=2000, transient=0.05, seed=7), campaigns=3)
print(f"campaign starts {datetime.fromtimestamp(START, UTC):%Y-%m-%d %H:%M} UTC")
for status, n in p.counts.most_common():
    print(f"  {status:12} {n}")

# %% [markdown]
# Every receipt has a status: `deferred` messages waited for the end of quiet hours, `capped`
# ones hit the daily limit, `retry` ones met a transient error and went back with a delay.

# %%
fig = plot_fates(p)
if path := dp.show(fig, "push-notification-fates"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## 2. The promises, checked

# %%
delivered = [r for r in p.receipts if r.status == "delivered"]
pairs = Counter((r.key, r.token) for r in delivered)
print("delivered twice to one device:", sum(1 for n in pairs.values() if n > 1))
per_day = Counter((r.user, r.channel) for r in delivered if r.key.startswith("promo"))
print("most promotions to one user on one channel:", max(per_day.values()), "(cap 2)")
assert p.quiet is not None
woken = [r for r in delivered if r.key.startswith("promo")
         and p.quiet.is_quiet(r.at, p.users[r.user].tz) and r.attempts == 1]  # fmt: skip
print("promotions delivered inside someone's quiet hours:", len(woken))

# %% [markdown]
# Deliveries by the hour on the recipient's own clock: nothing inside the shaded window but the
# high-lane alert, and a pile at 07:00 when the deferred messages are released.

# %%
fig = plot_local_hours(p)
if path := dp.show(fig, "push-notification-local-hours"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## 3. A provider that keeps failing: dead letters and a replay

# %%
q = Pipeline(providers=default_providers(transient=1.0), max_attempts=5)
q.templates.add("otp", "Your code is {code}")
q.register_user("ada")
q.add_device("ada", "apns", "tok-ada")
q.accept(Notification("otp-1", "otp", ("ada",), {"code": "4711"}, ("apns",), lane="high"))
q.run()
print([r.status for r in q.receipts], "dead letters:", len(q.dead))
for provider in q.providers.values():
    provider.transient = 0.0
print("replayed:", q.replay_dead_letters())
q.run()
print("now:", q.receipts[-1].status)

# %% [markdown]
# ## 4. A bad request is refused at accept time, and nothing is queued

# %%
for bad in (
    Notification("x1", "otp", ("ada",), {}, ("apns",)),  # missing variable
    Notification("x2", "otp", ("ada",), {"code": "1"}, ("pager",)),  # unknown channel
    Notification("x3", "otp", ("ada",), {"code": "9" * 5000}, ("apns",)),  # over 4 KB
):
    try:
        q.accept(bad)
    except ValueError as exc:
        print(type(exc).__name__, "-", exc)
print("queued:", len(q.accepted) + len(q.outgoing))
