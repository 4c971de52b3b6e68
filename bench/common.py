"""common.py: helpers shared by bench/offline, bench/live and bench/scale.

Python 3 standard library only. Every benchmark keeps its inputs and outputs
under bench/work/ (git-ignored): captures are generated once and reused.
"""

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
WORK = os.environ.get("BENCH_WORK", os.path.join(BENCH, "work"))
CACHE = os.path.join(WORK, "cache")
TRACEFLOWD = os.path.join(TOP, "traceflowd")
TRACEFLOWCTL = os.path.join(TOP, "traceflowctl")
GENCAP = os.path.join(TOP, "tests", "gencap")


def say(msg):
    print("==> " + msg, flush=True)


def run(cmd, **kw):
    """subprocess.run, checked, text output."""
    return subprocess.run(cmd, check=True, text=True, **kw)


def need_root():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces, tmpfs, apt-get)")


def need_pkgs(*pkgs):
    """apt-get install the Debian packages that are missing."""
    missing = []
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                           capture_output=True, text=True)
        if "ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return
    say("apt-get install " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                       env=env, check=False)
    if r.returncode != 0:
        say("warning: apt-get install failed for " + " ".join(missing))


def build():
    """What ./quickstart's build step does, then the benchmark's helpers."""
    os.chdir(TOP)
    if not os.path.exists("Makefile"):
        if not os.access("configure", os.X_OK):
            run(["autoreconf", "-fi"])
        run(["./configure", "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var"])
    run(["make", "-s", "-j%d" % (os.cpu_count() or 2)], stdout=subprocess.DEVNULL)
    run(["make", "-s", "tests/gencap"], stdout=subprocess.DEVNULL)
    global REVISION
    REVISION = revision()
    os.makedirs(CACHE, exist_ok=True)


def gencap(name, args):
    """A cached gencap capture: bench/work/cache/NAME.pcap."""
    path = os.path.join(CACHE, name + ".pcap")
    stamp = path + ".args"
    want = " ".join(args)
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == want:
        return path
    say("generating %s: gencap %s" % (name, want))
    r = run([GENCAP] + args + ["-o", path + ".tmp"], capture_output=True)
    sys.stderr.write(r.stderr)
    os.rename(path + ".tmp", path)
    with open(stamp, "w") as f:
        f.write(want)
    return path


def pcap_count(path):
    """Number of records of a classic pcap file (header walk, no libpcap)."""
    n = 0
    with open(path, "rb") as f:
        hdr = f.read(24)
        le = hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        order = "little" if le else "big"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = int.from_bytes(rec[8:12], order)
            f.seek(caplen, 1)
            n += 1
    return n


def machine():
    """The facts BENCHMARKS.md reports about the machine, as (key, value) rows."""
    rows = [("nproc", str(os.cpu_count()))]
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rows.append(("cpu", model))
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                rows.append(("memory", "%.1f GiB" % (int(line.split()[1]) / 1048576)))
    except OSError:
        pass
    rows.append(("kernel", platform.release()))
    r = subprocess.run(["df", "-hT", WORK], capture_output=True, text=True)
    if r.returncode == 0:
        f = r.stdout.splitlines()[-1].split()
        rows.append(("disk of bench/work", "%s %s (%s, %s free)" % (f[0], f[1], f[2], f[4])))
    return rows


def mount_tmpfs(path, size="8g"):
    os.makedirs(path, exist_ok=True)
    if not os.path.ismount(path):
        run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path])


def umount(path):
    if os.path.ismount(path):
        subprocess.run(["umount", path], check=False)


def clean_dir(path):
    """Remove an output folder, then sync, so every run starts alike."""
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["sync"], check=False)


def timed(cmd, stdout=None, stderr=None, cwd=None):
    """Run cmd; return (exit status, wall s, cpu s, max rss KiB) from wait4."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout or subprocess.DEVNULL,
                         stderr=stderr or subprocess.DEVNULL, cwd=cwd)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def proc_cpu(pid):
    """utime+stime of a live process, seconds (from /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tck


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def table(headers, rows):
    """A Markdown table with right-aligned numbers."""
    cells = [[str(c) for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
         for i, h in enumerate(headers)]
    out = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(headers)) + " |",
           "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    num = re.compile(r"^[-+]?[0-9.,]+[a-zA-Z%x]*$")
    for r in cells:
        out.append("| " + " | ".join(c.rjust(w[i]) if num.match(c) else c.ljust(w[i])
                                      for i, c in enumerate(r)) + " |")
    return "\n".join(out)


def revision():
    """The commit the binaries were built from, and whether src/ differed."""
    r = subprocess.run(["git", "-C", TOP, "log", "-1", "--format=%h %ci %s"],
                       capture_output=True, text=True)
    d = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--", "src"],
                       capture_output=True, text=True)
    rev = r.stdout.strip() or "unknown"
    return rev + (" (src/ has uncommitted changes)" if d.stdout.strip() else "")


REVISION = None


def report(name, text):
    """Print a result block and keep it in bench/work/NAME.md."""
    text = text + "\n\nBuilt from: %s" % (REVISION or revision())
    print(text, flush=True)
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, name + ".md"), "w") as f:
        f.write(text + "\n")
