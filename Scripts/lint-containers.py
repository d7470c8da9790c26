#!/usr/bin/env python3
"""Checks the container recipes (Deployments/containers/*/Containerfile) without a container engine.

Rules (hadolint-style, plus the project's own): one Containerfile per daemon; a build stage on the official Swift image
for Debian 12 and a run stage on Debian 12 slim, both pinned (no `latest`, no moving `bookworm-slim`); the executable
built with --static-swift-stdlib; no ADD (never a URL) and no curl/wget/git in RUN; apt-get only with
--no-install-recommends and the lists removed in the same RUN; the run stage installs exactly
`Scripts/install-deps.sh runtime`, runs as a non-root numeric USER before its ENTRYPOINT, declares /var/lib/fedct a
VOLUME, has an exec-form HEALTHCHECK and starts /usr/local/bin/<daemon>; every COPY source exists.

With --binaries DIR it also checks the runtime package list against the built executables: every shared library a
daemon names (DT_NEEDED, resolved by ldd) belongs to a package of `install-deps.sh runtime`, to Debian's base image
(libc6, libstdc++6, libgcc-s1) or to the Swift toolchain (linked statically in the image); and every runtime
package provides one of them (libopenblas0-openmp excepted: libtorch's BLAS).

Usage: Scripts/lint-containers.py [--binaries .build/debug]   (exit 0: clean; 1: problems listed on stderr)
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DAEMONS = ["fedct-coordinator", "fedct-site"]
BUILD_IMAGE = re.compile(r"^docker\.io/library/swift:6\.\d+\.\d+-bookworm$")
RUN_IMAGE = re.compile(r"^docker\.io/library/debian:(12\.\d+|bookworm-\d{8})-slim$")
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
INDIRECT_PACKAGES = {"libopenblas0-openmp": "libtorch's BLAS, the OpenMP variant as in the build"}
SWIFT_RUNTIME = re.compile(r"^lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime|XCTest|Testing)")


def instructions(path):
    """(line number, INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result, pending, start = [], "", 0
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if not pending:
                start = number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            keyword, _, arguments = text.partition(" ")
            result.append((start, keyword.upper(), arguments.strip()))
    return result


def exec_form(arguments):
    """The JSON array of an exec-form instruction, or None for the shell form."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else None


def lint(path, daemon):
    problems = []

    def problem(line, message):
        problems.append(f"{os.path.relpath(path, ROOT)}:{line}: {message}")

    stages = []
    for number, keyword, arguments in instructions(path):
        if keyword == "FROM":
            words = arguments.split()
            stages.append({"line": number, "image": words[0] if words else "",
                           "name": words[2] if len(words) == 3 and words[1].upper() == "AS" else None, "steps": []})
        elif not stages:
            if keyword != "ARG":
                problem(number, f"{keyword} before the first FROM")
        else:
            stages[-1]["steps"].append((number, keyword, arguments))
    if len(stages) < 2:
        problem(1, f"needs a build stage and a run stage (found {len(stages)} FROM)")
        return problems
    names = {stage["name"] for stage in stages if stage["name"]}
    for stage in stages:
        image = stage["image"]
        if image in names:
            continue
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
        if "@sha256:" not in image and (tag is None or tag == "latest"):
            problem(stage["line"], f"base image '{image}' is not pinned: name a version tag (or a digest), never latest")
    build, run = stages[0], stages[-1]
    if not BUILD_IMAGE.match(build["image"]):
        problem(build["line"], f"build stage must be the official Swift 6 image for Debian 12, "
                               f"docker.io/library/swift:6.X.Y-bookworm (got '{build['image']}')")
    if not build["name"]:
        problem(build["line"], "build stage needs a name (FROM … AS build) for COPY --from")
    if not RUN_IMAGE.match(run["image"]):
        problem(run["line"], f"run stage must be Debian 12 slim pinned to a point release or date, "
                             f"docker.io/library/debian:12.N-slim (got '{run['image']}')")

    for stage in stages:
        for number, keyword, arguments in stage["steps"]:
            if keyword == "ADD":
                kind = "a URL" if re.search(r"(https?|ftp)://|git@", arguments) else "files"
                problem(number, f"ADD of {kind}: use COPY of files from the build context (no downloads in recipes)")
            if keyword == "RUN":
                if re.search(r"\b(curl|wget)\b[^;&|]*(https?|ftp)://|\bgit\s+clone\b", arguments):
                    problem(number, "RUN downloads with curl/wget/git: packages come from Debian only")
                if re.search(r"\bsudo\b", arguments):
                    problem(number, "RUN uses sudo: stages run as root until USER")
                if re.search(r"apt-get\s+(-\S+\s+)*install", arguments):
                    if "--no-install-recommends" not in arguments:
                        problem(number, "apt-get install without --no-install-recommends")
                    if "rm -rf /var/lib/apt/lists" not in arguments:
                        problem(number, "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN")
            if keyword == "COPY":
                words = [word for word in shlex.split(arguments) if not word.startswith("--")]
                if not arguments.startswith("--from") and len(words) >= 2:
                    for source in words[:-1]:
                        if source != "." and not os.path.exists(os.path.join(ROOT, source)):
                            problem(number, f"COPY source '{source}' does not exist in the repository")

    build_runs = " ".join(arguments for _, keyword, arguments in build["steps"] if keyword == "RUN")
    if f"--product {daemon}" not in build_runs or "--static-swift-stdlib" not in build_runs:
        problem(build["line"], f"build stage must run swift build -c release --static-swift-stdlib --product {daemon}")

    steps = run["steps"]
    keywords = [keyword for _, keyword, _ in steps]
    run_runs = [(number, arguments) for number, keyword, arguments in steps if keyword == "RUN"]
    if not any(re.search(r"install-deps\.sh runtime\b", arguments) and "rm -rf /var/lib/apt/lists" in arguments
               for _, arguments in run_runs):
        problem(run["line"], "run stage must install its libraries with Scripts/install-deps.sh runtime "
                             "(and rm -rf /var/lib/apt/lists/* in the same RUN)")
    for number, arguments in run_runs:
        if re.search(r"apt-get\s+(-\S+\s+)*install", arguments):
            problem(number, "run stage installs packages outside install-deps.sh runtime")
    users = [(number, arguments) for number, keyword, arguments in steps if keyword == "USER"]
    if not users:
        problem(run["line"], "run stage has no USER: the daemon would run as root")
    else:
        number, user = users[-1]
        uid = user.split(":")[0]
        if not uid.isdigit() or int(uid) == 0:
            problem(number, f"USER '{user}' must be a non-root numeric uid[:gid] (Kubernetes runAsNonRoot checks numbers)")
        entry = [index for index, keyword in enumerate(keywords) if keyword in ("ENTRYPOINT", "CMD")]
        if entry and keywords.index("USER") > entry[0]:
            problem(number, "USER comes after ENTRYPOINT/CMD")
    volumes = []
    for number, keyword, arguments in steps:
        if keyword == "VOLUME":
            volumes += exec_form(arguments) or arguments.split()
    if "/var/lib/fedct" not in volumes:
        problem(run["line"], "run stage must declare VOLUME /var/lib/fedct (state outside the read-only root)")
    checks = [(number, arguments) for number, keyword, arguments in steps if keyword == "HEALTHCHECK"]
    if not checks:
        problem(run["line"], "run stage has no HEALTHCHECK")
    for number, arguments in checks:
        command = re.search(r"(?:^|\s)CMD\s+(.*)$", arguments)
        if command is None or exec_form(command.group(1).strip()) is None:
            problem(number, "HEALTHCHECK must run an exec-form CMD [\"…\"]")
    entrypoints = [(number, arguments) for number, keyword, arguments in steps if keyword == "ENTRYPOINT"]
    if not entrypoints or (exec_form(entrypoints[-1][1]) or [None])[0] != f"/usr/local/bin/{daemon}":
        problem(run["line"], f"run stage must have ENTRYPOINT [\"/usr/local/bin/{daemon}\"]")
    return problems


def runtime_packages():
    """The `runtime_packages=( … )` list of Scripts/install-deps.sh."""
    text = open(os.path.join(ROOT, "Scripts/install-deps.sh"), encoding="utf-8").read()
    match = re.search(r"runtime_packages=\(([^)]*)\)", text)
    if not match:
        raise SystemExit("Scripts/install-deps.sh has no runtime_packages=( … ) list")
    return match.group(1).split()


def candidates(path):
    """`path` as dpkg may have recorded it (merged /usr: with and without the /usr prefix, symlinks resolved)."""
    result = {path, os.path.realpath(path)}
    for candidate in list(result):
        if candidate.startswith("/usr/lib/"):
            result.add(candidate[len("/usr"):])
        elif candidate.startswith("/lib/"):
            result.add("/usr" + candidate)
    return result


def owners(paths):
    """{path: Debian package that installed it} for those of `paths` dpkg knows (one dpkg-query for all of them)."""
    queried = {candidate: path for path in paths for candidate in candidates(path)}
    output = subprocess.run(["dpkg-query", "-S"] + sorted(queried), capture_output=True, text=True).stdout
    result = {}
    for line in output.splitlines():
        package, _, found = line.partition(": ")
        if found in queried and "," not in package:
            result[queried[found]] = package.split(":")[0].strip()
    return result


def check_libraries(directory):
    """Problems of the runtime package list against the executables in `directory`."""
    problems, wanted, used = [], runtime_packages(), set()
    for daemon in DAEMONS:
        binary = os.path.join(directory, daemon)
        if not os.access(binary, os.X_OK):
            problems.append(f"{binary}: not built (swift build first)")
            continue
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
        resolved = {}
        for line in subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines():
            match = re.match(r"\s*(\S+) => (\S+)", line)
            if match:
                resolved[match.group(1)] = match.group(2)
        # The dynamic loader (ld-linux) is part of libc6.
        needed = [library for library in needed if not library.startswith("ld-linux")]
        packages = owners([resolved[library] for library in needed if library in resolved])
        for library in needed:
            path = resolved.get(library)
            if path is None or path == "not":
                problems.append(f"{daemon}: needs {library}, which ldd cannot find")
                continue
            package = packages.get(path)
            if package is None:
                if not SWIFT_RUNTIME.match(library):
                    problems.append(f"{daemon}: needs {library} ({path}), which no Debian package provides")
                continue
            used.add(package)
            if package not in wanted and package not in BASE_PACKAGES:
                problems.append(f"{daemon}: needs {library} from {package}, missing in install-deps.sh runtime_packages")
    for package in wanted:
        if package not in used and package not in INDIRECT_PACKAGES:
            problems.append(f"install-deps.sh runtime_packages lists {package}, which no daemon loads: remove it")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binaries", help="folder with the built fedct-coordinator and fedct-site (checks the runtime packages)")
    parser.add_argument("files", nargs="*", help="Containerfiles (default: one per daemon under Deployments/containers)")
    options = parser.parse_args()
    problems = []
    files = options.files or [os.path.join(ROOT, "Deployments/containers", daemon, "Containerfile") for daemon in DAEMONS]
    for path in files:
        daemon = os.path.basename(os.path.dirname(os.path.abspath(path)))
        if not os.path.isfile(path):
            problems.append(f"{path}: missing (one Containerfile per daemon)")
        elif daemon not in DAEMONS:
            problems.append(f"{path}: its folder must be named after a daemon ({', '.join(DAEMONS)})")
        else:
            problems += lint(path, daemon)
    if options.binaries:
        problems += check_libraries(options.binaries)
    for line in problems:
        print(line, file=sys.stderr)
    checked = len(files) + (1 if options.binaries else 0)
    print(f"lint-containers: {len(problems)} problem(s) in {checked} check(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
