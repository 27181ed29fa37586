"""QR code and poster benchmark: symbol sizes, per-poster costs and 1,000-site print batches.

Run from the repository root::

    .venv/bin/python bench/qr.py               # 1,000 sites
    .venv/bin/python bench/qr.py --smoke       # 20 sites, few repetitions (CI)
    .venv/bin/python bench/qr.py --sites 300

In one invocation, with one temporary directory that is removed afterwards, it:

1. prints the QR version (level Q) of the printed link ``printed_url(base, token)`` for the
   production base ``HTTPS://MZJ.LISHUI.GOV.CN`` and a 30-character base with a port, next to
   the lower-case (byte-mode) link for comparison; exits non-zero if a printed link needs a
   version above 3;
2. times a bare symbol (module matrix, PNG) and one A5 poster (300-dpi PNG, one-page PDF),
   median of several repetitions, and prints poster/symbol ratios from this same run;
3. writes the batch PDF (``qr.poster.write_pdf``, one process) and the parallel PNG ZIP
   (``survey.sites.posters.write_png_zip``) for ``--sites`` plausible sites, each in a child
   process, and reports seconds, pages/s, size on disk and peak memory (the child's exact
   peak ``VmHWM``; for the process tree, a sum of RSS and PSS sampled every 0.5 s). If the
   full PNG batch is predicted to take longer than ``--png-limit`` seconds, it is
   extrapolated from 100 sites instead, and the output says so;
4. renders a sample of the PDF pages (pypdfium2, 150 dpi) and of the PNGs, decodes them with
   zxing-cpp and checks that each holds its own site's link.

PASS/MISS against the targets (1,000 posters in at most 60 s, peak memory at most 300 MB) is
printed but does not change the exit status; a version above 3, a failed decode, a wrong
page count or a crashed child does. MB means 10^6 bytes. Results: docs/PERFORMANCE.md.
"""

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/qr.py: when run as a script its folder comes first on sys.path, and
# "import qr" would find this file instead of the qr package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from qr import poster, symbol  # noqa: E402
from survey.sites.posters import write_png_zip  # noqa: E402
from survey.sites.tokens import printed_url, survey_url  # noqa: E402

PRODUCTION_BASE = "HTTPS://MZJ.LISHUI.GOV.CN"
LONG_BASE = "https://mzj.lishui.gov.cn:8443"  # 30 characters, the longest the target names
MAX_VERSION = 3
TARGET_SECONDS = 60.0
TARGET_MB = 300.0
#: Reading smaps_rollup walks the page tables of the process read; sampling every 50 ms made
#: the 1,000-poster PNG batch 45-50 s instead of 31 s.
SAMPLE_SECONDS = 0.5
CHILD_TIMEOUT = 240.0
PNG_PROBE_SITES = 100
MB = 1e6
#: zxing-cpp reads the PDF pages rendered at this resolution.
DECODE_DPI = 150
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# --------------------------------------------------------------------------------------------
# Plausible sites
# --------------------------------------------------------------------------------------------

CITIES = {
    "丽水市": {
        "hotline": "0578-2095110",
        "counties": {
            "莲都区": ["紫金街道", "岩泉街道", "碧湖镇", "大港头镇", "老竹畲族镇"],
            "龙泉市": ["龙渊街道", "八都镇", "上垟镇", "小梅镇"],
            "青田县": ["鹤城街道", "温溪镇", "船寮镇", "仁庄镇", "方山乡"],
            "云和县": ["浮云街道", "崇头镇", "紧水滩镇"],
            "缙云县": ["五云街道", "壶镇镇", "新建镇", "东渡镇"],
            "遂昌县": ["妙高街道", "北界镇", "大柘镇", "石练镇"],
            "景宁畲族自治县": ["红星街道", "渤海镇", "东坑镇"],
        },
    },
    "温州市": {
        "hotline": "0577-88960110",
        "counties": {
            "鹿城区": ["五马街道", "南汇街道", "松台街道", "滨江街道", "藤桥镇"],
            "龙湾区": ["永中街道", "蒲州街道", "海滨街道", "状元街道"],
            "瓯海区": ["景山街道", "新桥街道", "娄桥街道", "泽雅镇"],
            "乐清市": ["城东街道", "柳市镇", "虹桥镇", "大荆镇"],
            "瑞安市": ["安阳街道", "塘下镇", "飞云街道", "马屿镇"],
            "永嘉县": ["北城街道", "瓯北街道", "桥头镇", "岩头镇"],
            "苍南县": ["灵溪镇", "钱库镇", "金乡镇", "马站镇"],
        },
    },
}
PROJECTS = [
    "2022年建成康养联合体20家",
    "居家养老服务照料中心改造提升",
    "2026年新建老年食堂（助餐服务点）100个",
    "困难失能老年人家庭适老化改造暨居家养老服务照料中心星级评定提升工程（第二批）",
]
PLACES = ["新华", "和平", "光明", "幸福", "朝阳", "长安", "锦绣", "桂花", "东门", "南塘"]
PLACES += ["西山", "北门", "红旗", "人民", "友谊", "团结", "前进", "兴隆", "安居", "康宁"]
STREETS = ["中山路", "人民路", "解放路", "建设路", "环城路", "府前街", "学院路", "江滨路"]
KINDS = ["社区居家养老服务照料中心", "村康养联合体", "社区老年食堂", "幸福邻里中心", "村助餐点"]
LONG_TAIL = "（含老年食堂·助浴点·康复训练室·日间照料床位）"
VERY_LONG_TAIL = (
    "暨区域性养老服务中心、认知障碍照护专区、家庭养老床位服务站、"
    "老年教育学习点及退役军人服务站联合运营点位（第一期改造提升工程）"
)


def make_contents(count: int, base_url: str, seed: int = 20261126) -> list[poster.PosterContent]:
    """``count`` reproducible posters: mostly ordinary names, every 25th long, every 100th huge."""
    rng = random.Random(seed)
    tokens: set[str] = set()
    contents = []
    for i in range(count):
        token = "".join(rng.choices(BASE32, k=10))
        while token in tokens:
            token = "".join(rng.choices(BASE32, k=10))
        tokens.add(token)
        city = rng.choice(list(CITIES))
        county = rng.choice(list(CITIES[city]["counties"]))
        town = rng.choice(CITIES[city]["counties"][county])
        place, kind = rng.choice(PLACES), rng.choice(KINDS)
        if i % 100 == 99:
            name = f"{town}{rng.choice(STREETS)}{place}{kind}{VERY_LONG_TAIL}"
        elif i % 25 == 24:
            name = f"{town}{rng.choice(STREETS)}{place}{kind}{LONG_TAIL}"
        elif i % 3 == 0:
            name = f"{place}{kind}"
        else:
            name = f"{town}{place}{kind}"
        project = PROJECTS[3] if i % 50 == 49 else rng.choice(PROJECTS[:3])
        contents.append(
            poster.PosterContent(
                url=printed_url(base_url, token),
                code=token,
                project=project,
                site=name,
                county=f"{city}{county}",
                bureau=f"{city}民政局",
                hotline=CITIES[city]["hotline"],
            )
        )
    return contents


def save_contents(contents: list[poster.PosterContent], path: Path) -> None:
    """Write the posters' data as JSON for a child process."""
    rows = [dataclasses.asdict(content) for content in contents]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def load_contents(path: Path) -> list[poster.PosterContent]:
    """Read the posters' data written by save_contents."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [poster.PosterContent(**row) for row in rows]


# --------------------------------------------------------------------------------------------
# Child processes: one batch each, so that the peak memory is the batch's own
# --------------------------------------------------------------------------------------------
# The child's ru_maxrss is not used for its own peak: exec() folds the peak of the process
# that spawned it (this benchmark, with its single-poster runs) into the child's ru_maxrss.
# VmHWM belongs to the memory map created by exec(), so it is the child's alone.


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: now, VmHWM: peak since exec), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / MB
    return 0.0


def child_main(kind: str, input_path: Path, out: Path) -> int:
    """Run one batch (``pdf`` or ``png``) and print its measurements as one JSON line."""
    contents = load_contents(input_path)
    rss_before = _status_mb("VmRSS")
    started = time.perf_counter()
    if kind == "pdf":
        count = poster.write_pdf(contents, out, "A5")
    else:
        count = write_png_zip(contents, out, "A5", workers=None)
    seconds = time.perf_counter() - started
    result = {
        "count": count,
        "seconds": seconds,
        "rss_before_mb": rss_before,
        "hwm_mb": _status_mb("VmHWM"),
        "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB,
        "workers": os.cpu_count() if kind == "png" else 1,
    }
    print(json.dumps(result))
    return 0


class BenchError(Exception):
    """The benchmark could not measure something."""


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (every thread's), from /proc."""
    children = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def _tree_memory(root: int) -> tuple[float, float]:
    """Summed RSS and PSS (MB) of ``root`` and all its descendants, read from /proc."""
    tree, frontier = {root}, [root]
    while frontier:
        for child in _children(frontier.pop()):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    rss = pss = 0
    for pid in tree:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss * 1024 / MB, pss * 1024 / MB


def run_child(kind: str, contents_path: Path, out: Path, tmp: Path) -> dict:
    """Run one batch in a child process, sampling its tree's memory; its results plus wall."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    cmd += ["--input", str(contents_path), "--out", str(out)]
    stdout_path, stderr_path = tmp / f"{kind}.stdout", tmp / f"{kind}.stderr"
    peak_rss = peak_pss = 0.0
    samples = 0
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=stderr)
        try:
            while proc.poll() is None:
                if time.perf_counter() - started > CHILD_TIMEOUT:
                    raise BenchError(f"{kind} batch took over {CHILD_TIMEOUT:.0f} s")
                rss, pss = _tree_memory(proc.pid)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                samples += 1
                time.sleep(SAMPLE_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{kind} batch failed:\n{stderr_path.read_text()[-3000:]}")
    lines = stdout_path.read_text().strip().splitlines()
    result = json.loads(lines[-1])
    result.update(wall=wall, tree_rss_mb=peak_rss, tree_pss_mb=peak_pss, samples=samples)
    result["size_mb"] = out.stat().st_size / MB
    return result


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def mode(url: str) -> str:
    """The QR encoding mode a link fits: alphanumeric (upper case) or byte."""
    return "alphanumeric" if set(url) <= symbol.ALPHANUMERIC else "byte"


def check_versions(token: str) -> bool:
    """Print the symbol versions of printed links; True if every printed one is ≤ 3."""
    print(f"== QR version at level Q (token {token}, limit {MAX_VERSION})")
    ok = True
    for base in (PRODUCTION_BASE, LONG_BASE):
        printed = printed_url(base, token)
        typed = survey_url(base.lower(), token)
        printed_version, typed_version = symbol.version(printed), symbol.version(typed)
        verdict = "ok" if printed_version <= MAX_VERSION else "TOO BIG"
        ok = ok and printed_version <= MAX_VERSION
        side = 17 + 4 * printed_version
        print(f"  base {base!r} ({len(base)} chars)")
        print(
            f"    printed  {printed:<45} {mode(printed):<12} version {printed_version} "
            f"({side}x{side} modules)  {verdict}"
        )
        print(f"    lower    {typed:<45} {mode(typed):<12} version {typed_version}")
    longest = 0
    for length in range(len("HTTPS://A.CN"), 80):
        base = "HTTPS://" + "A" * (length - len("HTTPS://A.CN") + 1) + ".CN"
        if symbol.version(printed_url(base, token)) <= MAX_VERSION:
            longest = length
    print(f"  upper-case bases up to {longest} characters stay at version {MAX_VERSION}")
    return ok


def median_ms(fn, reps: int) -> tuple[float, float, float]:
    """(median, min, max) milliseconds of ``reps`` calls of ``fn``, after one warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def time_single(content: poster.PosterContent, smoke: bool) -> dict[str, float]:
    """Median milliseconds of one bare symbol and one A5 poster, printed; keyed by name."""
    url = content.url
    cases = [
        ("symbol matrix", lambda: symbol.matrix(url), 20 if smoke else 200),
        ("symbol PNG (10 px/module)", lambda: symbol.png(url), 10 if smoke else 100),
        ("poster layout (text + matrix)", lambda: poster.layout(content), 10 if smoke else 50),
        ("poster A5 PNG 300 dpi", lambda: poster.png_bytes(content), 3 if smoke else 20),
        ("poster A5 one-page PDF", lambda: poster.pdf_bytes(content), 2 if smoke else 10),
    ]
    print(f"\n== One symbol and one poster (median of n runs after a warm-up), {url}")
    print(f"  site {content.site!r}")
    medians = {}
    for name, fn, reps in cases:
        median, low, high = median_ms(fn, reps)
        medians[name] = median
        print(f"  {name:<30} {median:8.2f} ms  (min {low:.2f}, max {high:.2f}, n={reps})")
    print(
        f"  sizes: symbol PNG {len(symbol.png(url)) / 1000:.1f} kB, "
        f"poster PNG {len(poster.png_bytes(content)) / 1000:.1f} kB, "
        f"one-page PDF {len(poster.pdf_bytes(content)) / 1000:.1f} kB"
    )
    return medians


def decode_pdf(path: Path, contents: list[poster.PosterContent], indices: list[int]) -> list[str]:
    """Render sampled pages, decode their QR codes; a message per page that is wrong."""
    import pypdfium2
    import zxingcpp

    errors = []
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        if len(pdf) != len(contents):
            errors.append(f"PDF has {len(pdf)} pages for {len(contents)} sites")
        for i in indices:
            page = pdf[i]
            image = page.render(scale=DECODE_DPI / 72).to_pil()
            page.close()
            texts = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
            if texts != [contents[i].url]:
                errors.append(f"PDF page {i + 1}: expected {contents[i].url}, decoded {texts}")
    finally:
        pdf.close()
    return errors


def decode_zip(path: Path, contents: list[poster.PosterContent], indices: list[int]) -> list[str]:
    """Decode sampled PNGs of the ZIP; a message per poster that is wrong."""
    import zxingcpp
    from PIL import Image

    errors = []
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        if len(entries) != len(contents):
            errors.append(f"ZIP has {len(entries)} files for {len(contents)} sites")
            return errors
        for i in indices:
            if not entries[i].filename.startswith(contents[i].code + "-"):
                errors.append(f"ZIP entry {i + 1} is {entries[i].filename}, not {contents[i].code}")
            with archive.open(entries[i]) as file, Image.open(file) as image:
                texts = [barcode.text for barcode in zxingcpp.read_barcodes(image.convert("L"))]
            if texts != [contents[i].url]:
                errors.append(f"PNG {i + 1}: expected {contents[i].url}, decoded {texts}")
    return errors


def sample_indices(contents: list[poster.PosterContent], count: int) -> list[int]:
    """First, last, longest site and project names, then evenly spaced pages up to ``count``."""
    n = len(contents)
    chosen = {0, n - 1}
    chosen.add(max(range(n), key=lambda i: len(contents[i].site)))
    chosen.add(max(range(n), key=lambda i: len(contents[i].project)))
    extra = max(0, count - len(chosen))
    chosen.update(int(n * (k + 0.5) / extra) for k in range(extra))
    return sorted(chosen)


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def report_batch(label: str, result: dict, sites: int, extrapolated_from: int = 0) -> None:
    """Print one batch's time, throughput, size and memory against the targets."""
    scale = sites / result["count"] if extrapolated_from else 1.0
    seconds = result["seconds"] * scale
    wall = result["wall"] - result["seconds"] + seconds  # start-up once, the batch scaled
    note = f"  (EXTRAPOLATED x{scale:.1f} from {extrapolated_from} sites)" if scale != 1 else ""
    print(f"  {label}{note}")
    print(
        f"    {result['count']} posters, {result['workers']} process(es): "
        f"{result['seconds']:.2f} s in the batch call, {result['wall']:.2f} s child wall "
        f"(with interpreter start and imports)"
    )
    print(f"    {result['count'] / result['seconds']:.1f} posters/s, {result['size_mb']:.1f} MB")
    workers = result["workers"] if result["children_maxrss_mb"] else 0
    print(
        f"    peak memory: batch process VmHWM {result['hwm_mb']:.0f} MB "
        f"(RSS {result['rss_before_mb']:.0f} MB before the call)"
        + (
            f"; largest worker ru_maxrss {result['children_maxrss_mb']:.0f} MB, "
            f"bound {result['hwm_mb'] + workers * result['children_maxrss_mb']:.0f} MB "
            f"(counts pages shared after fork once per process)"
            if workers
            else ""
        )
    )
    print(
        f"    process tree, sampled every {SAMPLE_SECONDS * 1000:.0f} ms ({result['samples']} "
        f"samples): RSS sum {result['tree_rss_mb']:.0f} MB, PSS sum {result['tree_pss_mb']:.0f} MB"
    )
    memory = max(result["hwm_mb"], result["tree_pss_mb"])
    print(
        f"    {sites} sites: {seconds:.1f} s batch call, {wall:.1f} s child wall "
        f"(target <= {TARGET_SECONDS:.0f} s) "
        f"{verdict(wall <= TARGET_SECONDS)}; peak {memory:.0f} MB "
        f"(target <= {TARGET_MB:.0f} MB) {verdict(memory <= TARGET_MB)}"
    )


def run(args, tmp: Path) -> int:
    """Every measurement and check, in order; the exit status."""
    started = time.perf_counter()
    errors: list[str] = []
    versions = {name: metadata.version(name) for name in ("qrcode", "fpdf2", "pillow")}
    print(
        f"bench/qr.py {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
    )
    contents = make_contents(args.sites, PRODUCTION_BASE)
    if not check_versions(contents[0].code):
        errors.append(f"a printed link needs a QR version above {MAX_VERSION}")

    ordinary = next(
        (c for c in contents if 10 <= len(c.site) <= 20 and len(c.project) < 20), contents[0]
    )
    medians = time_single(ordinary, args.smoke)

    contents_path = tmp / "contents.json"
    save_contents(contents, contents_path)
    lengths = sorted(len(c.site) for c in contents)
    print(
        f"\n== Batches of {args.sites} sites (site names {lengths[0]}–{lengths[-1]} characters, "
        f"median {lengths[len(lengths) // 2]})"
    )
    pdf_path = tmp / "posters.pdf"
    pdf = run_child("pdf", contents_path, pdf_path, tmp)
    if pdf["count"] != args.sites:
        errors.append(f"write_pdf returned {pdf['count']} pages for {args.sites} sites")
    report_batch("PDF, qr.poster.write_pdf (vector, one process)", pdf, args.sites)
    indices = sample_indices(contents, 4 if args.smoke else 12)
    pdf_errors = decode_pdf(pdf_path, contents, indices)
    print(f"    decoded {len(indices)} sampled pages: {len(pdf_errors)} wrong")
    errors += pdf_errors
    pdf_path.unlink()

    zip_path = tmp / "posters.zip"
    probe_sites = min(args.sites, PNG_PROBE_SITES)
    png, png_contents = None, contents
    if probe_sites < args.sites:
        probe_path = tmp / "probe.json"
        save_contents(contents[:probe_sites], probe_path)
        probe = run_child("png", probe_path, zip_path, tmp)
        # Interpreter start and imports once, then the batch call scaled to every site.
        predicted = probe["wall"] - probe["seconds"] + probe["seconds"] * args.sites / probe_sites
        print(
            f"  PNG probe: {probe_sites} sites in {probe['wall']:.1f} s, "
            f"{args.sites} predicted at {predicted:.0f} s (limit {args.png_limit:.0f} s)"
        )
        if predicted > args.png_limit:
            png, png_contents = probe, contents[:probe_sites]
    if png is None:
        png = run_child("png", contents_path, zip_path, tmp)
    extrapolated = len(png_contents) if len(png_contents) < args.sites else 0
    report_batch(
        "PNG ZIP, survey.sites.posters.write_png_zip (300 dpi, worker processes)",
        png,
        args.sites,
        extrapolated,
    )
    if png["count"] != len(png_contents):
        errors.append(f"write_png_zip returned {png['count']} for {len(png_contents)} sites")
    png_indices = sample_indices(png_contents, 4 if args.smoke else 6)
    png_errors = decode_zip(zip_path, png_contents, png_indices)
    print(f"    decoded {len(png_indices)} sampled PNGs: {len(png_errors)} wrong")
    errors += png_errors
    zip_path.unlink()

    symbol_png, symbol_matrix = medians["symbol PNG (10 px/module)"], medians["symbol matrix"]
    pdf_page_ms = pdf["seconds"] / pdf["count"] * 1000
    png_poster_ms = png["seconds"] / png["count"] * 1000
    print("\n== Ratios (same run; only these compare across runs)")
    rows = [
        ("poster PNG / symbol PNG", medians["poster A5 PNG 300 dpi"], symbol_png),
        ("one-page PDF / symbol PNG", medians["poster A5 one-page PDF"], symbol_png),
        ("batch PDF per page / symbol matrix", pdf_page_ms, symbol_matrix),
        ("batch PNG per poster (elapsed) / symbol PNG", png_poster_ms, symbol_png),
        ("batch PNG per poster / batch PDF per page", png_poster_ms, pdf_page_ms),
    ]
    for name, value, base in rows:
        print(f"  {name:<42} {value:8.2f} ms / {base:6.2f} ms = {value / base:6.1f}x")
    if pdf["count"] >= 100:  # in small batches the per-page time still holds the fixed cost
        print(
            f"  fixed cost per PDF document (one-page PDF minus a batch page): "
            f"{medians['poster A5 one-page PDF'] - pdf_page_ms:.0f} ms"
        )

    print(f"\nerrors: {len(errors)}; total time {time.perf_counter() - started:.0f} s")
    for error in errors:
        print(f"  ERROR {error}")
    return 1 if errors else 0


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000, help="sites per batch (1000)")
    parser.add_argument("--smoke", action="store_true", help="tiny run: 20 sites, few repeats")
    parser.add_argument(
        "--png-limit",
        type=float,
        default=120,
        help="extrapolate the PNG batch from 100 sites if predicted over this many seconds",
    )
    parser.add_argument("--child", choices=["pdf", "png"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.sites = 20
    if args.sites < 1:
        parser.error("--sites must be positive")
    return args


def main(argv=None) -> int:
    """Entry point: a child batch, or the whole benchmark in a temporary directory."""
    args = parse_args(argv)
    if args.child:
        return child_main(args.child, args.input, args.out)
    with tempfile.TemporaryDirectory(prefix="bench-qr-") as tmp:
        try:
            return run(args, Path(tmp))
        except BenchError as err:
            print(f"benchmark failed: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
