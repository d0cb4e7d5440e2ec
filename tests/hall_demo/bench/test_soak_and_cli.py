"""hall_demo.soak (a short run on the full stack, and the slope verdict) and `kiosk bench` parsing."""
from __future__ import annotations

from hall_demo.soak import Series, Soak
from kiosk.cli import build_parser


def test_slope_verdict_flat_noise_passes_growth_fails():
    t = [float(i) for i in range(40)]
    flat = Series("rss_mb", t, [100 + (0.8 if i % 2 else -0.8) for i in range(40)]).verdict()
    assert flat["ok"]
    leak = Series("rss_mb", t, [100 + 0.5 * i for i in range(40)]).verdict()
    assert not leak["ok"] and leak["second_half_rise"] > 4
    warmup_only = Series("fds", t, [10 + min(i, 10) for i in range(40)]).verdict()  # grows, then flat
    assert warmup_only["ok"]


def test_short_soak_serves_citizens_and_samples_every_series(tmp_path):
    report = Soak(3.0, 0.5, tmp_path).run()
    assert report["citizens_served"] > 0 and report["errors"] == 0, report["error_samples"]
    assert set(report["series"]) == {"rss_mb", "fds", "threads", "outbox_depth", "outbox_wal_mb",
                                     "central_wal_mb", "central_rss_mb"}
    assert report["series"]["outbox_depth"]["last"] == 0


def test_cli_bench_arguments():
    args = build_parser().parse_args(["bench", "--json", "--quick"])
    assert args.command == "bench" and args.json and args.quick
