#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks of scripts/monitoring-test.sh on metrics files, each printing
what it compared and exiting 1 on the first disagreement.

  compare.py guest PROM SYSFS            the guest exporter's file against the
                                         sysfs snapshots before and after it
  compare.py host PROM STATE METRICS JSON  the agent's file against hostclockctl
                                         state, metrics and hostclock-dump --json
  compare.py scrape SCRAPE GUEST HOST...  node_exporter's scrape against the files
  compare.py names PROM RULES DASHBOARD DOC  metrics used exist; all documented
"""
import json
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse(path, once=True):
    """{(name, ((label, value), ...)): float} and the TYPEs of a file; with
    once, a series twice is an error."""
    samples, types = {}, {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise SystemExit(f"{path}: not a sample: {line!r}")
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        key = (m.group(1), labels)
        if once and key in samples:
            raise SystemExit(f"{path}: twice: {line!r}")
        samples[key] = float(m.group(4))
    return samples, types


def one(samples, name, **labels):
    """The value of the one series NAME with at least these labels, or None."""
    got = [v for (n, ls), v in samples.items()
           if n == name and all((k, str(x)) in ls for k, x in labels.items())]
    if len(got) > 1:
        raise SystemExit(f"{name} {labels}: {len(got)} series")
    return got[0] if got else None


# sysfs file -> (metric, unit): "ns" nanoseconds as seconds, "err" also -1 absent
GUEST = {
    "offset_ns": ("hostclock_offset_seconds", "ns"),
    "max_abs_offset_ns": ("hostclock_offset_max_abs_seconds", "ns"),
    "offset_mean_ns": ("hostclock_offset_mean_seconds", "ns"),
    "offset_stddev_ns": ("hostclock_offset_stddev_seconds", "ns"),
    "drift_ppb": ("hostclock_drift_ppb", ""),
    "samples": ("hostclock_samples_total", ""),
    "offset_threshold_exceeded": ("hostclock_offset_threshold_exceeded_total", ""),
    "time_esterror_ns": ("hostclock_time_esterror_seconds", "err"),
    "time_maxerror_ns": ("hostclock_time_maxerror_seconds", "err"),
    "page_updates": ("hostclock_page_updates_total", ""),
    "freq_changes": ("hostclock_freq_changes_total", ""),
    "time_steps": ("hostclock_time_steps_total", ""),
    "disruptions": ("hostclock_disruptions_total", ""),
    "vm_generation_changes": ("hostclock_vm_generation_changes_total", ""),
    "vm_generation_counter": ("hostclock_vm_generation", ""),
    "seq_retries": ("hostclock_seq_retries_total", ""),
    "read_timeouts": ("hostclock_read_timeouts_total", ""),
    "invalid_pages": ("hostclock_invalid_pages_total", ""),
    "monotonic_clamps": ("hostclock_monotonic_clamps_total", ""),
    "crosststamp_failures": ("hostclock_crosststamp_failures_total", ""),
    "crosststamp_bracketed": ("hostclock_crosststamp_bracketed_total", ""),
    "crosststamp_bracket_ns": ("hostclock_crosststamp_bracket_seconds", "ns"),
    "disruption_steps": ("hostclock_disruption_steps_total", ""),
    "pair_bursts": ("hostclock_pairing_bursts_total", ""),
    "pair_timeouts": ("hostclock_pairing_timeouts_total", ""),
    "pair_rtt_ticks": ("hostclock_pairing_rtt_ticks", ""),
    "tsc_offset_uncertainty_ticks": ("hostclock_tsc_mapping_uncertainty_ticks", ""),
    "rate_refused": ("hostclock_rate_refused_total", ""),
    "rate_limited": ("hostclock_rate_limited_total", ""),
    "tsc_unstable_refusals": ("hostclock_tsc_unstable_refusals_total", ""),
    "uevents_deferred": ("hostclock_uevents_deferred_total", ""),
}


def kv(text):
    return dict(w.split("=", 1) for w in text.split())


def guest(prom, sysfs):
    samples, types = parse(prom)
    snaps = {}
    for line in open(sysfs):
        when, rest = line.split(" ", 1)
        snaps[when] = kv(rest)
    before, after = snaps["before"], snaps["after"]
    dev = {"device": "hostclock0"}
    got = [dict(ls)["status"] for (n, ls), v in samples.items()
           if n == "hostclock_device_status" and v == 1]
    assert got and got[0] in (before["status"], after["status"]), (got, before["status"])
    err = [dict(ls)["error"] for (n, ls), v in samples.items() if n == "hostclock_page_error_info"]
    assert err and err[0] in (before["error"], after["error"]), (err, before["error"])
    checked = {"hostclock_exporter_devices", "hostclock_device_status", "hostclock_page_error_info"}
    for f, (metric, unit) in GUEST.items():
        b, a = int(before[f]), int(after[f])
        v = one(samples, metric, **dev)
        checked.add(metric)
        if unit == "err" and b == -1 and a == -1:
            assert v is None, f"{metric}: {v}, sysfs -1 (no bound)"
            continue
        if unit == "err" and v is None and -1 in (b, a):
            continue
        assert v is not None, f"{metric} missing; sysfs {f} {b} .. {a}"
        if unit in ("ns", "err"):
            v = round(v * 1e9)
        assert min(b, a) <= v <= max(b, a), f"{metric} {v}; sysfs {f} {b} .. {a}"
        print(f"{f:30} {b} .. {a}: {metric} {v}")
    extra = set(types) - checked
    assert not extra, f"families in the file that nothing checked: {sorted(extra)}"
    print(f"{len(GUEST) + 2} sysfs files, {len(samples)} samples")


def host(prom, state_file, metrics_file, page_file):
    samples, _ = parse(prom)
    state = kv(open(state_file).read().split(" ", 1)[1])
    metrics = kv(open(metrics_file).read().split(" ", 1)[1])
    page = json.load(open(page_file))
    vm = {"vm": "vm1"}

    def eq(metric, want, **labels):
        got = one(samples, metric, **vm, **labels)
        print(f"{metric} {labels or ''}: {got}, want {want}")
        assert got is not None and abs(got - float(want)) <= 1e-9 * max(1, abs(float(want))), \
            f"{metric}: {got} != {want}"

    eq("hostclock_page_updates_total", state["updates"])
    eq("hostclock_clock_status", 1, status=state["status"])
    eq("hostclock_clock_status", page["clock_status"] == 2, status="synchronized")
    eq("hostclock_vm_generation", page["vm_generation_counter"])
    eq("hostclock_vm_generation", state["vm_generation"])
    eq("hostclock_disruptions_total", 3)	# the start's and two
    eq("hostclock_tsc_mapping_mode", 1, mode="identity")
    eq("hostclock_tsc_mapping_valid", state["map_valid"])
    eq("hostclock_tsc_mapping_uncertainty_ticks", state["map_uncertainty"])
    eq("hostclock_pairing_accepted_total", state["pair_accepted"])
    eq("hostclock_faults_active", 1)	# frozen, maxerror forced
    eq("hostclock_page_error_info", 1, error="none" if page["valid"] else page["error"])
    eq("hostclock_time_maxerror_seconds", page["time_maxerror_nanosec"] * 1e-9)
    eq("hostclock_time_esterror_seconds", page["time_esterror_nanosec"] * 1e-9)
    for m, k in (("hostclock_region_resizes_total", "region_resizes"),
                 ("hostclock_control_refused_total", "control_refused"),
                 ("hostclock_pairing_bursts_total", "pair_bursts"),
                 ("hostclock_pairing_unsolicited_total", "pair_unsolicited"),
                 ("hostclock_pairing_exchanges_total", "pair_exchanges"),
                 ("hostclock_pairing_timeouts_total", "pair_timeouts"),
                 ("hostclock_pairing_jumps_total", "pair_jumps"),
                 ("hostclock_host_rate_changes_total", "host_freq_changes"),
                 ("hostclock_host_errors_trusted", "host_errors_trusted")):
        eq(m, metrics[k])
    for reason in ("order", "rtt", "stale", "outlier"):
        eq("hostclock_pairing_rejected_total", metrics["pair_rejected_" + reason], reason=reason)
    # the page's time is the last update's host time (no step injected): to the ns
    frac_ns = round(page["time_frac_sec"] * 1e9 / 2**64)
    got = one(samples, "hostclock_page_last_update_timestamp_seconds", **vm)
    want = page["time_sec"] + frac_ns * 1e-9
    print(f"hostclock_page_last_update_timestamp_seconds {got:.9f}, page time {want:.9f}")
    assert abs(got - want) < 2e-6, (got, want)	# float64 keeps about 0.2 us here


def scrape(scraped, guest_file, *host_files):
    got, _ = parse(scraped)
    got = {k: v for k, v in got.items() if k[0].startswith("hostclock_")}
    want_guest, _ = parse(guest_file)
    hosts = [parse(f)[0] for f in host_files]
    keys = set(want_guest) | set().union(*hosts)
    missing = keys - set(got)
    extra = set(got) - keys
    assert not missing, f"not in the scrape: {sorted(missing)[:5]}"
    assert not extra, f"only in the scrape: {sorted(extra)[:5]}"
    for k, v in want_guest.items():
        assert got[k] == v, f"{k}: scraped {got[k]}, file {v}"
    for k in set().union(*hosts):
        assert any(got[k] == h.get(k) for h in hosts), f"{k}: scraped {got[k]}, files {[h.get(k) for h in hosts]}"
    print(f"{len(got)} hostclock series scraped, each with its file's value")


def names(prom, rules, dashboard, doc):
    _, types = parse(prom, once=False)
    doc_text = open(doc).read()
    used = set()
    for f in (rules, dashboard):
        text = open(f).read()
        if f.endswith(".json"):
            json.loads(text)
        used |= set(re.findall(r"\b(hostclock_[a-z0-9_]+)", text))
    unknown = used - set(types)
    assert not unknown, f"used but never exported: {sorted(unknown)}"
    undocumented = {n for n in types if f"`{n}`" not in doc_text}
    assert not undocumented, f"exported but not documented in {doc}: {sorted(undocumented)}"
    print(f"{len(used)} metrics used by the rules and the dashboard; {len(types)} exported, all documented")


if __name__ == "__main__":
    try:
        {"guest": guest, "host": host, "scrape": scrape, "names": names}[sys.argv[1]](*sys.argv[2:])
    except AssertionError as e:
        print(f"mismatch: {e}")
        sys.exit(1)
