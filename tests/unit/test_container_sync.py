"""The container recipes and Slurm templates cannot drift from the package (no Docker, no
network, no Slurm: the files are parsed).

- container/Dockerfile and container/femcell.def copy the same repository paths to the same
  places, start from the same image, install femcell with the same pip command (never the
  [wheel] extra: DOLFINx comes from the image) and run the same smoke test;
- everything pyproject.toml needs to build the package is copied next to it;
- the `femcell` command lines in container/*.sh and container/README.md use subcommands and
  options that femcell.cli.build_parser accepts (exact names: a renamed option fails);
- the shell scripts pass `bash -n` (and shellcheck, where it is installed).

A failure names the file and line to fix.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import itertools
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "container"
DOCKERFILE = CONTAINER / "Dockerfile"
DEFFILE = CONTAINER / "femcell.def"
SCRIPTS = sorted(CONTAINER.glob("*.sh"))
BASE_IMAGE = "dolfinx/dolfinx:v0.11.0"
# `femcell run` options the restart work adds (checked for real as soon as the parser has
# them; until then a command line using them is parsed without them and the check xfails)
PENDING_RUN_OPTIONS = ("--restart", "--checkpoint-every", "--checkpoint-minutes",
                       "--log-level", "--petsc-option")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@dataclass(frozen=True)
class Copy:
    src: str  # repository path
    dest: str  # absolute path in the image
    where: str  # file:line


@dataclass(frozen=True)
class Command:
    text: str  # a shell command (continuation lines joined)
    where: str  # file:line


# ----------------------------------------------------------------------------- parsing
def logical_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) with backslash continuations joined; full-line comments
    and blank lines dropped (a comment inside a continued command is skipped too)."""
    out, buf, start = [], [], 0
    for n, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        out.append((start, " ".join(b for b in buf if b)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def split_commands(text: str) -> list[str]:
    """The simple commands of a shell line ("a && b; c" -> [a, b, c])."""
    return [c.strip() for c in re.split(r"&&|\|\||;", text) if c.strip()]


def dockerfile() -> dict:
    """FROM image, copies (relative destinations resolved against WORKDIR), RUN commands."""
    info = {"from": [], "copies": [], "run": []}
    workdir = PurePosixPath("/")
    for n, line in logical_lines(DOCKERFILE):
        where = f"{rel(DOCKERFILE)}:{n}"
        instr, _, args = line.partition(" ")
        instr, args = instr.upper(), args.strip()
        if instr == "FROM":
            info["from"].append((args.split()[0], where))
        elif instr == "WORKDIR":
            workdir = workdir / args
        elif instr in ("COPY", "ADD"):
            words = json.loads(args) if args.startswith("[") else shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            assert not any(f.startswith("--from") for f in flags), (
                f"{where}: COPY --from is not mirrored in femcell.def; copy from the "
                "repository")
            words = [w for w in words if not w.startswith("--")]
            *sources, dest = words
            target = workdir / dest
            for src in sources:
                d = target / PurePosixPath(src).name if (dest.endswith("/") or
                                                         len(sources) > 1) else target
                info["copies"].append(Copy(src.rstrip("/"), str(d), where))
        elif instr == "RUN":
            info["run"] += [Command(c, where) for c in split_commands(args)]
    return info


def deffile() -> dict:
    """Header (Bootstrap, From), %files copies, %post and %test commands."""
    info = {"header": {}, "copies": [], "post": [], "test": []}
    section = None
    for n, line in logical_lines(DEFFILE):
        where = f"{rel(DEFFILE)}:{n}"
        if line.startswith("%"):
            section = line[1:].split()[0]
            continue
        if section is None:
            key, _, value = line.partition(":")
            info["header"][key.strip().lower()] = (value.strip(), where)
        elif section == "files":
            words = shlex.split(line)
            src = words[0].rstrip("/")
            dest = words[1] if len(words) > 1 else "/" + src
            info["copies"].append(Copy(src, dest, where))
        elif section in ("post", "test"):
            info[section] += [Command(c, where) for c in split_commands(line)]
    return info


def pip_install(commands: list[Command], name: str) -> Command:
    found = [c for c in commands if re.search(r"\bpip3?\b.*\binstall\b", c.text)]
    assert len(found) == 1, (f"{name}: expected one pip install command, found "
                             f"{[c.where for c in found] or 'none'}")
    return found[0]


def smoke_tests(commands: list[Command]) -> list[Command]:
    """The `femcell ...` commands run while building (after the install)."""
    return [c for c in commands if c.text.split()[0] == "femcell"]


def norm(text: str) -> str:
    return " ".join(shlex.split(text))


# ----------------------------------------------------------------------------- recipes
def test_recipes_start_from_the_same_dolfinx_image():
    froms = dockerfile()["from"]
    assert froms, f"{rel(DOCKERFILE)}: no FROM"
    for image, where in froms:
        assert image == BASE_IMAGE, f"{where}: FROM {image}: expected FROM {BASE_IMAGE}"
    assert len(froms) == 1, f"{rel(DOCKERFILE)}: one stage expected (femcell.def has one)"
    header = deffile()["header"]
    boot, where = header.get("bootstrap", ("", rel(DEFFILE)))
    assert boot == "docker", f"{where}: Bootstrap: docker expected, found {boot!r}"
    image, where = header.get("from", ("", rel(DEFFILE)))
    assert image == BASE_IMAGE, f"{where}: From: {BASE_IMAGE} expected, found {image!r}"


def test_copied_paths_exist_and_match_in_both_recipes():
    docker, apptainer = dockerfile()["copies"], deffile()["copies"]
    assert docker and apptainer, "no COPY in the Dockerfile or no %files in femcell.def"
    missing = [f"{c.where}: {c.src!r} does not exist in the repository"
               for c in docker + apptainer if not (ROOT / c.src).exists()]
    assert not missing, "\n".join(missing)
    d = {(c.src, c.dest): c for c in docker}
    a = {(c.src, c.dest): c for c in apptainer}
    drift = [f"{c.where}: {c.src} -> {c.dest} is copied only by the Dockerfile"
             for k, c in d.items() if k not in a]
    drift += [f"{c.where}: {c.src} -> {c.dest} is copied only by femcell.def"
              for k, c in a.items() if k not in d]
    assert not drift, "the recipes copy different files:\n" + "\n".join(drift)


def _needed_by_pyproject() -> list[tuple[str, str]]:
    """(repository path, why) for every file or folder building the package reads."""
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project, st = py.get("project", {}), py.get("tool", {}).get("setuptools", {})
    need = [("pyproject.toml", "the build reads it")]
    readme = project.get("readme")
    if isinstance(readme, dict):
        readme = readme.get("file")
    if isinstance(readme, str):
        need.append((readme, "[project] readme"))
    for pattern in project.get("license-files", []):
        need += [(rel(p), "[project] license-files") for p in ROOT.glob(pattern)]
    if isinstance(project.get("license"), dict) and "file" in project["license"]:
        need.append((project["license"]["file"], "[project] license.file"))
    package_dir = st.get("package-dir", {})
    base = package_dir.get("", ".")

    def pkg_path(pkg: str) -> str:
        for prefix, folder in package_dir.items():
            if prefix and (pkg == prefix or pkg.startswith(prefix + ".")):
                return str(PurePosixPath(folder, *pkg.split(".")[len(prefix.split(".")):]))
        return str(PurePosixPath(base, *pkg.split(".")))

    packages = st.get("packages", [])
    if isinstance(packages, dict) and "find" in packages:
        find = packages["find"]
        include, exclude = find.get("include", ["*"]), find.get("exclude", [])
        for where in find.get("where", ["."]):
            for d in sorted((ROOT / where).iterdir()):
                if (d.is_dir() and (d / "__init__.py").exists()
                        and any(fnmatch.fnmatchcase(d.name, p) for p in include)
                        and not any(fnmatch.fnmatchcase(d.name, p) for p in exclude)):
                    need.append((rel(d), "[tool.setuptools.packages.find]"))
        assert any(why.endswith("find]") for _, why in need), (
            "pyproject.toml: [tool.setuptools.packages.find] finds no package")
    elif isinstance(packages, list):
        need += [(pkg_path(p), "[tool.setuptools] packages") for p in packages]
    for pkg, patterns in st.get("package-data", {}).items():
        roots = [n for n, why in need if "packages" in why] if pkg == "*" else [pkg_path(pkg)]
        for r in roots:
            for pattern in patterns:
                need += [(rel(p), f"[tool.setuptools.package-data] {pkg}")
                         for p in (ROOT / r).glob(pattern)]
    for files in st.get("data-files", {}).values():
        for pattern in files:
            need += [(rel(p), "[tool.setuptools] data-files") for p in ROOT.glob(pattern)]
    for key, spec in st.get("dynamic", {}).items():
        if isinstance(spec, dict) and "file" in spec:
            files = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
            need += [(f, f"[tool.setuptools.dynamic] {key}") for f in files]
    return need


@pytest.mark.parametrize("recipe", ["Dockerfile", "femcell.def"])
def test_everything_the_build_needs_is_copied_next_to_pyproject(recipe):
    info = dockerfile() if recipe == "Dockerfile" else deffile()
    commands = info["run"] if recipe == "Dockerfile" else info["post"]
    copies = info["copies"]
    pip = pip_install(commands, recipe)
    target = PurePosixPath(re.sub(r"\[.*\]$", "", shlex.split(pip.text)[-1]))
    assert target.is_absolute(), f"{pip.where}: install from an absolute path, not {target}"
    problems = []
    for path, why in _needed_by_pyproject():
        p = PurePosixPath(path)
        ok = any((p == PurePosixPath(c.src) or PurePosixPath(c.src) in p.parents)
                 and PurePosixPath(c.dest) / p.relative_to(c.src) == target / p
                 for c in copies)
        if not ok:
            problems.append(f"{path} ({why}) is not copied to {target / p}")
    assert not problems, (f"container/{recipe}: the pip install at {pip.where} builds "
                          f"{target}, but\n" + "\n".join(problems))


def test_same_pip_install_without_the_wheel_extra():
    docker = pip_install(dockerfile()["run"], "Dockerfile")
    apptainer = pip_install(deffile()["post"], "femcell.def")
    assert norm(docker.text) == norm(apptainer.text), (
        f"different pip commands:\n  {docker.where}: {docker.text}\n"
        f"  {apptainer.where}: {apptainer.text}")
    for cmd in (docker, apptainer):
        for word in shlex.split(cmd.text):
            extras = re.search(r"\[(.*)\]", word)
            assert not (extras and "wheel" in extras.group(1).split(",")), (
                f"{cmd.where}: {word!r} installs the [wheel] extra (the pip DOLFINx build); "
                "the image provides DOLFINx")
            assert "dolfinx-solver" not in word and not word.startswith("-r"), (
                f"{cmd.where}: {word!r}: install femcell alone; DOLFINx comes from the image")
    for path in (DOCKERFILE, DEFFILE):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            assert "dolfinx-solver" not in code and "[wheel" not in code, (
                f"{rel(path)}:{n}: the pip DOLFINx build must not be installed in the image")


def test_same_smoke_test_after_the_install():
    docker, apptainer = dockerfile()["run"], deffile()
    d = smoke_tests(docker[docker.index(pip_install(docker, "Dockerfile")) + 1:])
    post = apptainer["post"]
    a = smoke_tests(post[post.index(pip_install(post, "femcell.def")) + 1:])
    assert d, f"{rel(DOCKERFILE)}: no `femcell ...` smoke test after the pip install"
    assert [norm(c.text) for c in d] == [norm(c.text) for c in a], (
        "different smoke tests:\n" + "\n".join(f"  {c.where}: {c.text}" for c in d + a))
    test = smoke_tests(apptainer["test"])
    assert [norm(c.text) for c in test] == [norm(c.text) for c in d], (
        f"{rel(DEFFILE)}: %test should run the smoke test {d[0].text!r}, found "
        f"{[c.text for c in test]}")


# ----------------------------------------------------------------------- CLI in scripts
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def _assignments(path: Path) -> tuple[dict, dict]:
    """Scalar defaults (NAME=${NAME:-default} or NAME=value; the first one wins) and array
    alternatives (every NAME=(...) in the file) of a shell script."""
    scalars, arrays = {}, {}
    for _, line in logical_lines(path):
        for cmd in (line,) if "=(" in line else split_commands(line):
            m = re.match(r"^(?:export\s+|local\s+|readonly\s+)?(\w+)=(.*)$", cmd)
            if not m:
                continue
            name, value = m.groups()
            if value.startswith("(") and value.rstrip().endswith(")"):
                arrays.setdefault(name, []).append(value.strip()[1:-1])
                continue
            own = re.fullmatch(r"\$\{" + name + r":?-(.*)\}", value.strip())
            scalars.setdefault(name, own.group(1) if own else value.strip())
    return scalars, arrays


def _resolve(text: str, scalars: dict, depth: int = 0) -> str:
    """A word with its shell variables replaced by the script's defaults (or the variable's
    name as a placeholder) and command substitutions by X."""
    prev = None
    while prev != text:
        prev, text = text, re.sub(r"\$\([^()]*\)", "X", text)

    def sub(m):
        name = m.group(1) or m.group(3)
        if name in scalars and depth < 5:
            return _resolve(scalars[name], scalars, depth + 1)
        if m.group(2) is not None and depth < 5:
            return _resolve(m.group(2), scalars, depth + 1)
        return name

    return _VAR.sub(sub, text).replace('"', "").replace("'", "")


def _words(text: str) -> list[str]:
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    return list(lex)


def femcell_command_lines(path: Path) -> list[tuple[str, list[list[str]]]]:
    """(file:line, [argument list, ...]) for every `femcell SUBCOMMAND ...` or `python -m
    femcell.cli SUBCOMMAND ...` in a shell script or in the code blocks of a Markdown file;
    one argument list per combination of the arrays the line expands."""
    if path.suffix == ".md":
        text, lines, inside = path.read_text().splitlines(), [], False
        for n, line in enumerate(text, 1):
            if line.strip().startswith("```"):
                inside = not inside
            elif inside and not line.strip().startswith("#"):
                lines.append((n, line.strip()))
        scalars, arrays = {}, {}
    else:
        lines = logical_lines(path)
        scalars, arrays = _assignments(path)
    out = []
    for n, line in lines:
        segments = [[]]
        for w in _words(line):
            if w in ("||", "&&", ";", "|", "&", "(", ")", ">", ">>", "<"):
                segments.append([])
            else:
                segments[-1].append(w)
        for words in segments:
            # the last `femcell WORD` of a simple command is the CLI; an earlier one is an
            # image name (docker run ... femcell mpiexec -n 4 femcell run ...)
            starts = [i for i, w in enumerate(words[:-1])
                      if (w == "femcell" or w.endswith("/femcell") or
                          (w == "femcell.cli" and i > 0 and words[i - 1] == "-m"))
                      and re.fullmatch(r"[a-z][a-z-]*", words[i + 1])]
            if not starts:
                continue
            args = words[starts[-1] + 1:]
            choices = []
            for a in args:
                m = re.fullmatch(r"\$\{(\w+)\[@\]\}", a)
                if a in ("$@", "${@}", "$*"):
                    choices.append([[]])  # the script's own arguments: the user's
                elif m:
                    alts = arrays.get(m.group(1))
                    assert alts, f"{rel(path)}:{n}: array {m.group(1)} is never assigned"
                    choices.append([[_resolve(x, scalars) for x in shlex.split(alt)]
                                    for alt in alts])
                else:
                    choices.append([[_resolve(a, scalars)]])
            variants = [[x for part in combo for x in part]
                        for combo in itertools.product(*choices)]
            out.append((f"{rel(path)}:{n}", variants))
    return out


def inline_femcell_spans(path: Path) -> list[tuple[str, list[str]]]:
    """(file:line, words) for every inline code span `femcell ...` in a Markdown file."""
    return [(f"{rel(path)}:{n}", shlex.split(m.group(1)))
            for n, line in enumerate(path.read_text().splitlines(), 1)
            for m in re.finditer(r"`femcell ([^`]+)`", line)]


def _strict(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """No abbreviations: an option renamed to a longer name must not still match."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _strict(sub)
    return parser


def _subparser(parser, name):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name)
    return None


def test_femcell_command_lines_in_the_scripts_parse():
    from femcell.cli import build_parser

    parser = _strict(build_parser())
    run = _subparser(parser, "run")
    known = set(run._option_string_actions) if run else set()
    absent = [o for o in PENDING_RUN_OPTIONS if o not in known]
    files = [*SCRIPTS, CONTAINER / "README.md"]
    checked, errors, waiting = 0, [], set()
    for path in files:
        if not path.exists():
            continue
        for where, variants in femcell_command_lines(path):
            for args in variants:
                if args and args[0] == "run":
                    kept, skip = [], False
                    for a in args:
                        opt = a.split("=", 1)[0]
                        if skip:
                            skip = False
                        elif opt in absent:
                            waiting.add(opt)
                            skip = "=" not in a
                        else:
                            kept.append(a)
                    args = kept
                err = io.StringIO()
                try:
                    with contextlib.redirect_stderr(err):
                        parser.parse_args(args)
                except SystemExit:
                    msg = err.getvalue().strip().splitlines()
                    errors.append(f"{where}: femcell {shlex.join(args)}\n    "
                                  f"{msg[-1] if msg else 'rejected'}")
                checked += 1
    readme = CONTAINER / "README.md"
    subs = {name: set(sp._option_string_actions) for name, sp in
            next(a for a in parser._actions
                 if isinstance(a, argparse._SubParsersAction)).choices.items()}
    for where, words in inline_femcell_spans(readme) if readme.exists() else []:
        if words[0] not in subs:
            errors.append(f"{where}: `femcell {shlex.join(words)}`: no subcommand {words[0]!r}")
            continue
        for w in words[1:]:
            opt = w.split("=", 1)[0]
            if opt.startswith("-") and opt not in subs[words[0]]:
                if words[0] == "run" and opt in absent:
                    waiting.add(opt)
                else:
                    errors.append(f"{where}: `femcell {shlex.join(words)}`: "
                                  f"`femcell {words[0]}` has no option {opt}")
        checked += 1
    assert checked >= 2, f"found only {checked} femcell command lines in {files}"
    assert not errors, ("femcell command lines the CLI rejects (an option or subcommand was "
                        "renamed?):\n" + "\n".join(errors))
    if waiting:
        pytest.xfail(reason="CLI restart options not merged yet: "
                     f"{', '.join(sorted(waiting))} not in `femcell run`")


def test_slurm_template_restarts_and_forwards_the_warning_signal():
    job, chain = CONTAINER / "slurm_job.sh", CONTAINER / "slurm_chain.sh"
    for path in (job, chain):
        text = path.read_text()
        sig = re.findall(r"^#SBATCH\s+--signal=(\S+)", text, flags=re.M)
        assert sig and re.fullmatch(r"(USR1|10)@\d+", sig[0]), (
            f"{rel(path)}: needs `#SBATCH --signal=USR1@<seconds>` without B: (B: would "
            f"signal only the batch shell, not the femcell ranks); found {sig}")
    text = job.read_text()
    for needle in ("srun --mpi=pmi2 apptainer exec", "-m femcell.cli run", "--restart",
                   "summary.json", 'exit "$rc"'):
        assert needle in text, f"{rel(job)}: {needle!r} is missing"
    assert "SLURM_JOB_ID}\"" not in text and "runs/${SLURM_JOB_ID" not in text, (
        f"{rel(job)}: the run folder must not depend on the job id (resubmissions continue)")
    text = chain.read_text()
    assert re.search(r"^#SBATCH\s+--array=\S+%1\s*$", text, flags=re.M), (
        f"{rel(chain)}: needs `#SBATCH --array=1-N%1` (one task at a time)")
    assert "scancel" in text and "slurm_job.sh" in text, (
        f"{rel(chain)}: must run slurm_job.sh and scancel the rest once completed")


# --------------------------------------------------------------------------- shell lint
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_shell_scripts_parse(script):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    res = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, f"bash -n {rel(script)}:\n{res.stderr}"
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        res = subprocess.run([shellcheck, "--severity=warning", str(script)],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"shellcheck {rel(script)}:\n{res.stdout}{res.stderr}"
