# %% [markdown]
# # Design a Video Streaming Platform (YouTube / Netflix)
#
# Upload, transcode, store, and stream video to every phone on every network: which parts are
# hardest? This notebook follows one title through `designpatterns_ref.streaming`: a creator's
# upload that survives an interruption, the transcoding job graph on a pool of workers, the HLS
# and DASH manifests a player reads, the player itself choosing a bitrate for every segment over
# real 3G and 4G measurements (five rules the industry uses), and the CDN edge caches in front
# of it all. Everything is simulated and seeded, so the story is the same every time.

# %%
import statistics

import designpatterns_ref as dp
from designpatterns_ref import streaming as st
from designpatterns_ref.streaming.data import bbb, find_abr_data, shared_traces
from designpatterns_ref.streaming.plot import plot_hit_ratio, plot_session, plot_sessions


def show(fig, name):
    """Inline in a notebook; from a script, a PNG file whose path is printed."""
    path = dp.show(fig, name)
    if path is not None:
        print(f"figure written to {path}")


# %% [markdown]
# ## 1. Upload: resumable, checksummed, deduplicated
#
# The phone sends 1 MB chunks, each with its SHA-256; the server accepts a chunk only at the
# offset it holds. The connection drops after three chunks; the client asks where it stood and
# sends the rest. A second creator uploading the same bytes sends nothing at all.

# %%
server = st.UploadServer()
video = bytes(range(256)) * 20_000  # 5 MB stand-in for a video file
client = st.UploadClient(server, video, chunk_size=1 << 20)
print("interrupted at", client.upload(max_chunks=3), "bytes")
print("resumed to", client.resume(), "bytes; intact:", server.blob(client.upload_id) == video)
copy = st.UploadClient(server, video)
copy.upload()
print("same file again: skipped =", copy.skipped, "| bytes stored:", server.stored_bytes)

# %% [markdown]
# ## 2. Transcoding: a job graph on a worker pool
#
# Split into 6 s chunks, encode every chunk at every rung in parallel, stitch each rung, package.
# More workers help until the critical path is all that is left; failed chunks are retried.

# %%
graph = st.job_graph(600, 6, [(1080, 3.0), (720, 1.6), (480, 0.8), (240, 0.3)])
for workers, seconds in st.makespan_curve(graph, [1, 4, 16, 64, 256], failure_rate=0.05):
    print(f"{workers:4d} workers: {seconds / 60:6.1f} min")
print(f"critical path: {graph.critical_path_s:.0f} s; total work {graph.total_work_s / 60:.0f} min")

# %% [markdown]
# ## 3. Manifests: how the player learns the ladder
#
# The same ladder as an HLS master playlist and a DASH MPD, each parsed back.

# %%
movie = bbb() if find_abr_data() else None
ladder = st.ladder_for(movie) if movie else [st.Rung("360p", 800, 640, 360)]
master = st.write_hls_master(ladder)
print(master.splitlines()[3], master.splitlines()[4], sep="\n")
mpd = st.parse_dash_mpd(st.write_dash_mpd(ladder, 3, 597))
print(len(mpd.representations), "representations;", mpd.segment_urls(ladder[0].name)[:2])

# %% [markdown]
# ## 4. The player: five rules on real networks
#
# Big Buck Bunny (10 rungs, 230 to 6,000 kbps, 3 s segments) over the shared 3G and 4G logs.
# QoE follows Yin et al.: bitrate, minus switches, minus 3,000 per second stalled.

# %%
if movie is None:
    print("shared ABR data not found: set DPREF_DATA to run this part")
else:
    traces = shared_traces()
    for algo in st.algorithms():
        results = [st.simulate(movie, t, algo) for t in traces[::4]]
        qoe = statistics.fmean(r.qoe_per_segment for r in results)
        print(
            f"{algo.name:26s} QoE/segment {qoe:7,.0f}"
            f"  bitrate {statistics.fmean(r.avg_bitrate_kbps for r in results):6,.0f} kbps"
            f"  stalls {statistics.fmean(r.rebuffer_s for r in results):5.1f} s"
        )

# %% [markdown]
# One session up close: the bandwidth the network gave, the bitrate chosen, the buffer.

# %%
if movie is not None:
    trace = next(t for t in shared_traces("3g") if "2010-09-13" in t.name)
    session = st.simulate(movie, trace, st.Bola())
    show(plot_session(session, trace), "video-streaming-session")

# %%
if movie is not None:
    show(
        plot_sessions([st.simulate(movie, trace, a) for a in st.algorithms()], trace),
        "video-streaming-sessions",
    )

# %% [markdown]
# ## 5. The CDN: what to keep at the edge
#
# A Zipf catalogue with a long tail and 5% new titles a day, four edges, optionally an origin
# shield. TinyLFU's admission filter keeps one-hit wonders from flushing the popular head;
# W-TinyLFU adds a small LRU window so new releases get in at once.

# %%
requests = st.zipf_workload(objects=3_000, requests=30_000, edges=4)
curves = {}
for policy in ("LRU", "LFU", "TinyLFU", "W-TinyLFU"):
    points = st.hit_ratio_curve(requests, policy, (1, 2, 5, 10, 20), edges=4)
    curves[policy] = [(pct, stats.hit_ratio) for pct, stats in points]
    shielded = st.hit_ratio_curve(requests, policy, (5,), edges=4, shield_percent=20)[0][1]
    print(
        f"{policy:9s} hit ratio at 5%: {100 * points[2][1].hit_ratio:4.1f}%; origin egress "
        f"{100 * points[2][1].origin_fraction:4.1f}% of bytes, with a shield "
        f"{100 * shielded.origin_fraction:4.1f}%"
    )
show(plot_hit_ratio(curves), "video-streaming-cdn")
