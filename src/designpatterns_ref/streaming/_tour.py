"""``dpref tour streaming``: a title over a real 3G log, the ABR rules, upload, transcode, CDN."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.streaming import algorithms, simulate
from designpatterns_ref.streaming.base import Manifest, Trace
from designpatterns_ref.streaming.cdn import hit_ratio_curve, zipf_workload
from designpatterns_ref.streaming.data import bbb, find_abr_data, shared_traces
from designpatterns_ref.streaming.manifests import ladder_for, parse_hls_master, write_hls_master
from designpatterns_ref.streaming.session import Fixed
from designpatterns_ref.streaming.transcode import job_graph, makespan_curve
from designpatterns_ref.streaming.upload import UploadClient, UploadServer

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the video-streaming story, deterministically, in a few seconds."""
    out("A player fetches 3 s segments one at a time; each rung is one bitrate of the ladder.")
    movie = Manifest(3000, [500, 1500, 3000], [[1.5e6, 4.5e6, 9e6]] * 5)
    steady = simulate(movie, Trace.constant(2000, latency_ms=100), Fixed(1))
    out(
        f"  At a steady 2 Mbit/s the 1.5 Mbit/s rung takes 0.1 + 4.5/2 = 2.35 s per segment: "
        f"startup {steady.startup_s:.2f} s, stalls {steady.rebuffer_s:.1f} s."
    )
    greedy = simulate(movie, Trace.constant(2000, latency_ms=100), Fixed(2))
    out(
        f"  Always the 3 Mbit/s rung instead: 4.6 s per 3 s segment, "
        f"{greedy.rebuffer_s:.1f} s of stalls in {greedy.rebuffer_count} episodes."
    )
    if find_abr_data() is None:
        out("\n(shared ABR data not found: set DPREF_DATA to replay Big Buck Bunny on 3G)")
    else:
        title = bbb()
        trace = next(t for t in shared_traces("3g") if "2010-09-13" in t.name)
        minutes = title.duration_s / 60
        out(f"\nBig Buck Bunny ({minutes:.0f} min, {title.rungs} rungs) on {trace.name}:")
        for algo in algorithms():
            r = simulate(title, trace, algo)
            out(
                f"  {algo.name:26s} {r.avg_bitrate_kbps:6,.0f} kbps  "
                f"{r.rebuffer_s:5.1f} s stalled  {r.switches:3d} switches  "
                f"QoE {r.qoe_per_segment:7,.0f}/segment"
            )
        ladder = ladder_for(title)
        variants = parse_hls_master(write_hls_master(ladder))
        out(f"  Its HLS master playlist lists {len(variants)} variants, e.g. {variants[-1].uri}.")

    server = UploadServer()
    client = UploadClient(server, bytes(range(256)) * 400, chunk_size=16_384)
    stopped = client.upload(max_chunks=3)
    done = client.resume()
    again = UploadClient(server, bytes(range(256)) * 400).upload()
    out(
        f"\nUpload: interrupted at {stopped:,} bytes, resumed to {done:,}; the same file again "
        f"sends nothing ({again:,} bytes linked), {server.stored_bytes:,} bytes stored."
    )
    graph = job_graph(600, 6, [(1080, 3.0), (720, 1.6), (480, 0.8), (240, 0.3)])
    curve = dict(makespan_curve(graph, [1, 8, 64, 512]))
    out(
        f"Transcoding a 10-minute upload: {len(graph.tasks)} tasks; wall clock "
        f"{curve[1] / 60:.0f} min on 1 worker, {curve[8] / 60:.1f} min on 8, "
        f"{curve[64]:.0f} s on 64, {curve[512]:.0f} s on 512 "
        f"(critical path {graph.critical_path_s:.0f} s)."
    )
    reqs = zipf_workload(objects=2_000, requests=20_000, seed=1)
    for policy in ("LRU", "LFU", "TinyLFU", "W-TinyLFU"):
        (_, small), (_, big) = hit_ratio_curve(reqs, policy, (2, 20), edges=1)
        out(
            f"CDN {policy:9s} edge hit ratio {100 * small.hit_ratio:4.1f}% at 2% of the "
            f"catalogue, {100 * big.hit_ratio:4.1f}% at 20%."
        )
