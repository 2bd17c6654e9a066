#!/usr/bin/env python3
"""omega-pipeline, run as a program: what it promises on its command line and in its output,
never its speed.

Groups (--only):
  smoke      a short run exits 0 and prints the totals, and its last line is the exactly-once
             verdict; a run past a second prints a line per second with each channel's rate.
  json       --json: every line of stdout is one JSON object; each second's line rates every
             channel; the final report says exactly_once with logged == generated > 0.
  bad_flags  unknown flags, missing, non-numeric, zero, negative and absurd values, and
             values PipelineConfig::validate refuses: each exits 2 with a message naming the
             flag and the usage on stderr, nothing on stdout.
  promtool   --prometheus (text and --json forms) passes `promtool check metrics`. Without
             promtool (Debian's prometheus package; scripts/setup.sh) the group is skipped.
  timeout    a run far longer than --timeout gives up: exit 3, reported as timed out.
  interrupt  SIGINT mid-run: the pipeline drains, reports, and is still exactly once.
  interrupt_early
             SIGINT before the first beat (the Worker has sent nothing yet): the same.
  restarts   --fault-every: the Worker throws and is restarted, and the run is still exactly
             once.

Exit status: 0 passed, 1 failed, 77 skipped (with the reason printed).
"""
import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
VERDICT = re.compile(r"^omega-pipeline: exactly once: all (\d+) generated values were logged once, in order$")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(binary, *args, timeout=120):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def show(rc, out, err):
    return f"exit {rc}\n--- stdout:\n{out[-4000:]}\n--- stderr:\n{err[-4000:]}"


def json_lines(out):
    lines = [l for l in out.splitlines() if l.strip()]
    objs = []
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise Failure(f"stdout line {i + 1} is not JSON ({e}): {line[:200]!r}")
        check(isinstance(obj, dict), f"stdout line {i + 1} is not a JSON object: {line[:200]!r}")
        objs.append(obj)
    check(objs, "no output")
    return objs


def check_report(rep, beats):
    check(rep.get("type") == "report", f"the last line is not the report: {rep}")
    check(rep.get("exactly_once") is True, f"exactly_once is not true: {rep}")
    gen, logged = rep.get("generated"), rep.get("logged")
    check(isinstance(gen, int) and gen > 0 and logged == gen, f"logged {logged} != generated {gen} (or none): {rep}")
    check(rep.get("bursts") == beats, f"bursts {rep.get('bursts')} != --beats {beats}")
    check(rep.get("timed_out") is False and rep.get("exit_status") == 0, f"report: {rep}")


def smoke(binary):
    rc, out, err = run(binary, "--rate", "1", "--beats", "200", "--timeout", "100")
    check(rc == 0, "a short run failed: " + show(rc, out, err))
    lines = out.rstrip("\n").splitlines()
    m = VERDICT.match(lines[-1])
    check(m is not None, "the last line is not the exactly-once verdict: " + show(rc, out, err))
    check(int(m.group(1)) > 0, "nothing was generated: " + lines[-1])
    totals = [l for l in lines if l.startswith("total: ")]
    check(len(totals) == 1, "no total line: " + out)
    check(re.match(rf"total: {m.group(1)} generated, {m.group(1)} logged in ", totals[0]) is not None,
          "the total disagrees with the verdict: " + totals[0])
    # At least 1.25 s of bursts (few values each, so that it stays short under sanitizers): a
    # line per second.
    rc, out, err = run(binary, "--rate", "25", "--beats", "50", "--timeout", "100")
    check(rc == 0, "a 1.25 s run failed: " + show(rc, out, err))
    seconds = [l for l in out.splitlines() if re.match(r"^\s*\d+\.\d s \| ", l)]
    check(seconds, "no per-second line in a 1.25 s run: " + out)
    check(all("/s fill " in l for l in seconds), "a per-second line without rates: " + "\n".join(seconds))
    check(re.search(r"checksum: generated 0x[0-9a-f]{16}, logged 0x[0-9a-f]{16} \(match\)", out), "checksums: " + out)
    rc, out, err = run(binary, "--help")
    check(rc == 0 and out.startswith("usage: omega-pipeline") and "--rate" in out and err == "",
          "--help: " + show(rc, out, err))


def json_group(binary):
    rc, out, err = run(binary, "--json", "--rate", "25", "--beats", "50", "--timeout", "100", "--dot")
    check(rc == 0, "--json run failed: " + show(rc, out, err))
    objs = json_lines(out)
    rep = objs[-1]
    check_report(rep, 50)
    check(isinstance(rep.get("dot"), str) and rep["dot"].lstrip().startswith("digraph"), f"--dot: {rep.get('dot')!r}")
    seconds = objs[:-1]
    check(seconds, "no per-second line in a 1.25 s run")
    for s in seconds:
        check(s.get("type") == "second", f"not a per-second line: {s}")
        chans = s.get("channels")
        check(isinstance(chans, list) and len(chans) >= 3, f"a per-second line without the pipeline's channels: {s}")
        for c in chans:
            check(isinstance(c.get("name"), str) and c["name"], f"a channel without a name: {c}")
            r = c.get("msgs_per_sec")
            check(isinstance(r, (int, float)) and r >= 0, f"channel {c.get('name')}: msgs_per_sec {r!r}")
            check(c.get("taken", -1) <= c.get("sent", -1), f"channel {c['name']} took more than was sent: {c}")
        check(any(c["msgs_per_sec"] > 0 for c in chans), f"nothing moved during a second of the run: {s}")
        check(s.get("logged", -1) <= s.get("generated", -1), f"logged more than generated: {s}")
    # The final counters agree with the verdict: the logged count went through the channels.
    check(seconds[-1]["generated"] <= rep["generated"], "a second reported more than the total")


BAD = [
    (["--rate"], "--rate"),
    (["--rate", "0"], "--rate"),
    (["--rate", "-5"], "--rate"),
    (["--rate", "abc"], "--rate"),
    (["--rate", "1.5"], "--rate"),
    (["--rate="], "--rate"),
    (["--rate", "--beats", "5"], "--rate"),
    (["--rate", "99999999999"], "--rate"),
    (["--beats", "0"], "--beats"),
    (["--beats", "1e3"], "--beats"),
    (["--beats", " 7"], "--beats"),
    (["--beats", "0x10"], "--beats"),
    (["--beats", "99999999999999999999999999"], "--beats"),
    (["--batch", "0"], "--batch"),
    (["--batch", "-1"], "--batch"),
    (["--batch", "100000000"], "--batch"),
    (["--telemetry-ms", "fast"], "--telemetry-ms"),
    (["--timeout", "0"], "--timeout"),
    (["--timeout", "-1"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--timeout", "inf"], "--timeout"),
    (["--fault-every", "0"], "--fault-every"),
    (["--json=yes"], "--json"),
    (["--frobnicate"], "--frobnicate"),
    (["extra"], "extra"),
    (["--rate", "1", "--beats"], "--beats"),
]


def bad_flags(binary):
    problems = []
    for args, flag in BAD:
        rc, out, err = run(binary, *args, timeout=30)
        if rc != 2 or flag not in err or "usage: omega-pipeline" not in err or out != "":
            problems.append(f"{args}: expected exit 2, '{flag}' and the usage on stderr, nothing on stdout; "
                            + show(rc, out, err))
    # Past the program's own bounds, PipelineConfig::validate judges (a batch larger than the
    # channels); its reason is printed.
    rc, out, err = run(binary, "--batch", "1048576", timeout=30)
    if rc != 2 or "batch" not in err or out != "":
        problems.append("--batch 1048576 (larger than the channels): expected exit 2 naming the batch; "
                        + show(rc, out, err))
    check(not problems, "\n\n".join(problems))


def promtool_group(binary):
    promtool = shutil.which("promtool")
    if promtool is None:
        print("SKIPPED: promtool not found (Debian's prometheus package; scripts/setup.sh installs it)")
        sys.exit(SKIP)
    rc, out, err = run(binary, "--rate", "1", "--beats", "50", "--prometheus", "--timeout", "100")
    check(rc == 0, "--prometheus run failed: " + show(rc, out, err))
    marker = "# omega-pipeline: the final telemetry frame"
    check(marker in out, "no Prometheus block after the run: " + out)
    text = out[out.index(marker):]
    rc2, out2, err2 = run(binary, "--json", "--rate", "1", "--beats", "50", "--prometheus", "--timeout", "100")
    check(rc2 == 0, "--json --prometheus run failed: " + show(rc2, out2, err2))
    embedded = json_lines(out2)[-1].get("prometheus")
    check(isinstance(embedded, str), "the --json report has no 'prometheus' text")
    for name, exposition in (("text", text), ("json", embedded)):
        check(re.search(r"^omega_channel_\w+\{", exposition, re.M), f"{name}: no omega_channel_ sample:\n{exposition}")
        check(re.search(r"^omega_actor_\w+\{", exposition, re.M), f"{name}: no omega_actor_ sample:\n{exposition}")
        p = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, f"promtool check metrics rejects the {name} form (exit {p.returncode}):\n"
                                 f"{p.stdout}{p.stderr}\n--- exposition:\n{exposition}")


def timeout_group(binary):
    # 100 bursts a second apart would take 100 s.
    t = time.monotonic()
    rc, out, err = run(binary, "--rate", "1000", "--beats", "100", "--timeout", "0.5", timeout=60)
    check(rc == 3, "expected exit 3 (timed out): " + show(rc, out, err))
    check(re.search(r"^omega-pipeline: timed out after 0\.500 s \(\d+ of 100 bursts sent\)$", out, re.M),
          "no timed-out line: " + out)
    check(time.monotonic() - t < 50, "a timed-out run did not end")
    rc, out, err = run(binary, "--json", "--rate", "1000", "--beats", "100", "--timeout", "0.5", timeout=60)
    rep = json_lines(out)[-1]
    check(rc == 3 and rep.get("timed_out") is True and rep.get("exit_status") == 3, "--json timed out: " + show(rc, out, err))


def interrupt(binary):
    p = subprocess.Popen([binary, "--json", "--rate", "1", "--beats", "1000000", "--timeout", "100"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()  # the first per-second line: the pipeline is under way
        check(json.loads(first).get("type") == "second", f"first line: {first!r}")
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rep = json_lines(rest)[-1]
    check(p.returncode == 0, f"interrupted run: exit {p.returncode}: {rep}\n{err}")
    check(rep.get("interrupted") is True and rep.get("exactly_once") is True, f"report: {rep}")
    check(0 < rep.get("bursts", 0) < 1000000, f"bursts: {rep}")
    check(rep["logged"] == rep["generated"] > 0, f"report: {rep}")


def interrupt_early(binary):
    # Shutdown before the first beat: the Generator has filled its channel, the Worker has
    # sent nothing yet. Shutdown drains (actor.hpp: nothing accepted is lost), so the Worker
    # must still move every value to the Logger.
    p = subprocess.Popen([binary, "--json", "--rate", "60000", "--beats", "2", "--timeout", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(p.stdout.readline())  # one second in, no burst yet
        check(first.get("type") == "second" and first.get("bursts") == 0 and first.get("generated", 0) > 0,
              f"first line: {first}")
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rep = json_lines(rest)[-1]
    check(p.returncode == 0 and rep.get("interrupted") is True and rep.get("exactly_once") is True,
          f"interrupted before the first beat: exit {p.returncode}: {rep}\n{err}")
    check(rep["logged"] == rep["generated"] > 0 and rep.get("bursts") == 0, f"report: {rep}")


def restarts(binary):
    # How many values a run moves depends on the machine; a first run without faults sets the
    # fault interval to about a sixth of it, so that the second run has a few restarts and
    # stays within the restart intensity.
    rc, out, err = run(binary, "--json", "--rate", "2", "--beats", "100", "--timeout", "100")
    check(rc == 0, "run without faults failed: " + show(rc, out, err))
    every = max(1000, json_lines(out)[-1]["generated"] // 6)
    rc, out, err = run(binary, "--json", "--rate", "2", "--beats", "100", "--fault-every", str(every),
                       "--timeout", "100")
    check(rc == 0, "run with faults failed: " + show(rc, out, err))
    rep = json_lines(out)[-1]
    check_report(rep, 100)
    check(rep.get("worker_restarts", 0) > 0 and rep.get("restarts", 0) >= rep["worker_restarts"],
          f"the Worker was not restarted: {rep}")


GROUPS = {"smoke": smoke, "json": json_group, "bad_flags": bad_flags, "promtool": promtool_group,
          "timeout": timeout_group, "interrupt": interrupt, "interrupt_early": interrupt_early,
          "restarts": restarts}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", required=True, help="path to omega-pipeline")
    ap.add_argument("--only", choices=sorted(GROUPS), action="append")
    a = ap.parse_args()
    failed = []
    for name in a.only or list(GROUPS):
        try:
            GROUPS[name](a.pipeline)
            print(f"{name}: ok")
        except Failure as e:
            print(f"{name}: FAILED: {e}")
            failed.append(name)
        except subprocess.TimeoutExpired as e:
            print(f"{name}: FAILED: {e}")
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
