"""The context of one chapter notebook: data, results, figures and tables, with provenance.

A chapter notebook's first code cells are::

    # parameters
    data_dir = None      # raw data folder (default: the shipped synthetic data, or RR_DATA_DIR)
    out_dir = None       # where to write (default: see rrlib.paths)

    from rrlib import chapter
    ch = chapter.setup("reach", data_dir=data_dir, out_dir=out_dir,
                       parameters=dict(data_dir=data_dir, out_dir=out_dir))
    ch.banner()

and its last is ``ch.finish()``. In between, the notebook calls rrlib for the work and uses
``ch.table``, ``ch.record``, ``ch.save_figure`` and ``ch.publish``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import areas, disclosure, figures, manifest, paths, provenance, public, registry, tre
from .results import OFFICIAL_FOLDER, Results

#: Chapter key -> notebook file name, found from the notebooks (rrlib.registry): never a hand-kept list.
NOTEBOOKS = {c.key: c.notebook for c in registry.chapters()}


@dataclass
class Part:
    """What a chapter function hands the notebook for one results subsection: a tidy results frame,
    figures by name, sentences (markdown) and tables to display. :meth:`Chapter.emit` records,
    saves and shows them, so that a section of the notebook stays one or two lines."""

    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: dict = field(default_factory=dict)
    text: str = ""
    tables: list = field(default_factory=list)
    data: object = None          # anything a later section reuses (e.g. the primary design)
    official: bool = True        # figures drawn from official statistics (no synthetic mark)
    sources: tuple = ()          # the public tables (names in rrlib.public, or files) official figures were drawn from


def public_files(sources) -> list[Path]:
    """Files of ``sources``: a public table's name (:data:`rrlib.public.TABLES`) gives the file it was read
    from in this run (:func:`rrlib.public.read_path`: the shipped cut, or the file a parameter named);
    a path (``str`` with a separator or a ``Path``) is itself."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = []
    for s in sources:
        if s is None:
            continue
        is_path = isinstance(s, Path) or "/" in str(s) or "\\" in str(s) or str(s).endswith((".csv", ".gz"))
        out.append(Path(s) if is_path else public.read_path(str(s)))
    return out


class NotComputed(Exception):
    """What a chapter section needs is not in the data (a table, a year, an area, enough people).

    Raised inside :meth:`Chapter.section`; the section then shows "not computed" with the reason,
    records nothing, and the chapter goes on. Raise it from chapter functions with a reason a
    reader understands: ``NotComputed("no hospital admissions in 2017/18 (the data holds 2018/19 to 2021/22)")``.
    """


class ProcessedDataMissing(NotComputed, RuntimeError):
    """A processed table the chapter asked for is not in the data folder."""


class ParameterError(ValueError):
    """A chapter parameter has a value the data or the chapter cannot take.

    ``rr run`` reports it as one line naming the parameter and what is allowed (no traceback).
    """


def check_choice(name: str, value, allowed, what: str = "values in the data") -> None:
    """Raise :class:`ParameterError` unless ``value`` (or each of a list) is among ``allowed``."""
    allowed = sorted({str(a) for a in allowed})
    values = value if isinstance(value, (list, tuple)) else [value]
    bad = [v for v in values if str(v) not in allowed]
    if bad:
        shown = allowed if len(allowed) <= 12 else allowed[:5] + ["..."] + allowed[-5:]
        raise ParameterError(f"parameter {name} = {value!r}: {', '.join(map(str, bad))} not among the "
                             f"{what} ({', '.join(shown) or 'none'})")


def check_type(name: str, value, kind: type | tuple, example: str) -> None:
    """Raise :class:`ParameterError` unless ``value`` is of ``kind`` (e.g. a YAML date given for text)."""
    if value is not None and not isinstance(value, kind):
        raise ParameterError(f"parameter {name} = {value!r} is a {type(value).__name__}; "
                             f"expected {example}")


def require(condition, reason: str) -> None:
    """Raise :class:`NotComputed` with ``reason`` unless ``condition`` holds."""
    if not condition:
        raise NotComputed(reason)


def require_values(values, wanted, what: str) -> None:
    """Raise :class:`NotComputed` unless every one of ``wanted`` is among ``values``.

    ``what`` names the values for the reason: ``require_values(fys, "2017/18", "admissions in
    financial year")`` says "admissions in financial year 2017/18: not in the data (it holds ...)".
    """
    have = sorted({str(v) for v in values if v is not None})
    wanted = [wanted] if isinstance(wanted, (str, int)) else list(wanted)
    missing = [w for w in wanted if str(w) not in have]
    if missing:
        held = f"{have[0]} to {have[-1]}" if len(have) > 3 else (", ".join(have) or "none")
        raise NotComputed(f"{what} {', '.join(map(str, missing))}: not in the data (it holds: {held})")


class Section:
    """A part of a chapter that runs only when its inputs exist (see :meth:`Chapter.section`)."""

    def __init__(self, chapter: "Chapter", key: str, covers=None):
        self.chapter, self.key = chapter, key
        self.covers = [covers] if isinstance(covers, str) else list(covers or [key])
        self.reason: str | None = None

    def __enter__(self) -> "Section":
        self._before = set(self.chapter.results.results)
        self.chapter.results.skip(self.key, "", self.covers)  # validates the keys
        del self.chapter.results.skipped[self.key]
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or not issubclass(exc_type, NotComputed):
            return False
        self.reason = str(exc)
        missing_data = isinstance(exc, ProcessedDataMissing) or "data folder has no" in self.reason
        if missing_data and self.chapter.no_pupil_data:
            self.reason = self.chapter.no_pupil_reason
        self.chapter.results.skip(self.key, self.reason, self.covers, recorded_before=self._before)
        self.chapter.show(f"_**Not computed.** {self.reason}. Nothing is recorded for this section._")
        return True

    @property
    def computed(self) -> bool:
        return self.reason is None


@dataclass
class Chapter:
    name: str
    layout: paths.Layout
    parameters: dict
    synthetic: bool | None
    manifest: dict
    results: Results
    started: float = field(default_factory=time.time)
    outputs: list = field(default_factory=list)
    area: areas.Area = field(default_factory=areas.from_env)   # the authority of the run (make all AREA=...)
    official_only: bool = False  # reads only official statistics, never the data folder (banner(official_only=True))
    #: the data folder's tables this run read or looked for (:meth:`table`, :meth:`has_table`): the
    #: results file's ``data.tables``, so that what a chapter's numbers depend on is on record
    tables_read: set = field(default_factory=set)

    @property
    def notebook(self) -> str | None:
        return NOTEBOOKS.get(self.name)

    @property
    def no_pupil_data(self) -> bool:
        """An area run (not Blackpool) on the shipped (Blackpool) data folder: no pupil-level data for it."""
        area = getattr(self, "area", None)     # (a bare Chapter made without setup has none: Blackpool)
        if area is None or area.is_default:
            return False
        return self.layout.data_dir.resolve() == paths.DEFAULT_DATA_DIR.resolve()

    @property
    def no_pupil_reason(self) -> str:
        return f"not computed: no pupil-level data for {self.area.name} (give DATA_DIR=<its extracts>)"

    def _pupil_data(self) -> None:
        if self.no_pupil_data:
            raise ProcessedDataMissing(self.no_pupil_reason)

    def require_area(self, codes, reason: str) -> None:
        """Raise :class:`NotComputed` with ``reason`` unless the run's authority is one of ``codes``
        (DfE old LA codes): for sections whose inputs cover only those authorities."""
        if self.area.code not in {str(c) for c in codes}:
            raise NotComputed(f"not computed for {self.area.name}: {reason}")

    # -- data -----------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """A processed table (``<processed_dir>/<name>.parquet``, made by ``rr prepare``).

        Raises :class:`ProcessedDataMissing` (a :class:`NotComputed`) when the data folder has no
        such table, so that inside :meth:`section` a missing table costs that section only; in an
        area run without that authority's extracts, :class:`NotComputed` ("no pupil-level data for ...").
        """
        if self.official_only:
            raise RuntimeError(f"chapter {self.name!r} uses official statistics only: it cannot read the data "
                               f"folder's `{name}` table")
        self._pupil_data()
        self.tables_read.add(name)
        f = self.layout.processed_dir / f"{name}.parquet"
        if not f.exists():
            if not (self.layout.processed_dir / ".prepared.json").exists():
                raise ProcessedDataMissing(
                    f"no processed data in {self.layout.processed_dir.name}/: run `make data` "
                    f"(or `rr prepare`) first")
            raise ProcessedDataMissing(f"the data folder has no `{name}` table")
        return pd.read_parquet(f)

    def tables(self, *names: str) -> tuple[pd.DataFrame, ...] | pd.DataFrame:
        """Several processed tables at once (:meth:`table` for each); one name gives one frame."""
        self._pupil_data()
        missing = [n for n in names if not self.has_table(n)]
        if missing and (self.layout.processed_dir / ".prepared.json").exists():
            raise ProcessedDataMissing("the data folder has no " + ", ".join(f"`{n}`" for n in missing)
                                       + (" table" if len(missing) == 1 else " tables"))
        out = tuple(self.table(n) for n in names)
        return out[0] if len(out) == 1 else out

    # -- sections ---------------------------------------------------------------
    def section(self, key: str, covers=None) -> Section:
        """A section that needs something from the data: ``with ch.section("selfharm.a10"):``.

        Inside it, :class:`NotComputed` (raised by :meth:`table` for a missing table, by
        :func:`require` / :func:`require_values`, or by a chapter function) stops the section:
        the notebook shows "not computed" with the reason, whatever the section recorded is
        dropped, and the reason goes into the results file (``skipped``) so that the claims
        report shows every claim under ``covers`` (dotted key prefixes; default ``key``) as
        *not computed* with it. Any other error still fails the chapter.
        """
        return Section(self, key, covers)

    def show(self, obj) -> None:
        """Display markdown text (a ``str``) or any object in the notebook."""
        from IPython.display import Markdown, display

        display(Markdown(obj) if isinstance(obj, str) else obj)

    def has_table(self, name: str) -> bool:
        """Whether the data folder has the processed table ``name`` (looked for: recorded in ``tables_read``)."""
        if self.no_pupil_data:
            return False
        self.tables_read.add(name)
        return (self.layout.processed_dir / f"{name}.parquet").exists()

    # -- outputs --------------------------------------------------------------
    def record(self, key: str, value, **kw):
        """Record a headline number (see :meth:`rrlib.results.Results.record`)."""
        return self.results.record(key, value, **kw)

    def record_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Record a tidy results frame (key, value/estimate, lower, upper, unit, method, n, note); returns it."""
        self.results.record_frame(frame)
        return frame

    def figure_data(self, data: "figures.FigureData", name: str) -> pd.DataFrame:
        """Publish what figure ``name`` draws as ``<figures_dir>/<name>.data.csv`` (with its
        ``.data.disclosure.json``) through the same disclosure preset as the tables: counts
        suppressed and rounded, statistics of groups under :func:`rrlib.disclosure.min_group`
        withheld, and every value its source table suppresses kept suppressed. Returns the
        published data as numbers (suppressed values NaN), which is what the figure draws."""
        preset, _ = tre.for_run(data.preset, {})
        d = self.layout.figures_dir
        frame, kw = figures.publish_data(data, name, d, preset=preset)
        dname = name + figures.DATA_SUFFIX
        tre.keep_counts(frame, dname, self.layout.out_dir, kw)  # for the outbox's ACRO re-check
        self.outputs.append(d / f"{dname}.csv")
        return figures.numeric(pd.read_csv(d / f"{dname}.csv", dtype=str, keep_default_na=False))

    def save_figure(self, fig, name: str, *, mark: bool = True, caption: str | None = None,
                    alt: str | None = None, sources=None, data: "figures.FigureData | None" = None) -> Path:
        """Save ``fig`` as ``<figures_dir>/<name>.svg`` with its provenance sidecar.

        With ``data`` (what the figure draws, :class:`rrlib.figures.FigureData`), ``fig`` is a
        function of the published data: the data goes through disclosure control first
        (:meth:`figure_data`, written beside the sidecar) and ``fig(published)`` draws only what
        was published. The sidecar's ``figure`` entry holds what the report shows with it:
        ``caption`` (default: the figure's title) and ``alt``, a text alternative (default:
        computed from the figure's panels, axes and series by :func:`rrlib.figures.describe`).

        A figure of official statistics (``sources``: the public tables it draws, by name in
        :mod:`rrlib.public` or as files) is not stamped and its sidecar's ``data`` names those files
        with ``synthetic: false`` (:func:`rrlib.provenance.official_state`), not the run's data folder.
        An unstamped figure (``mark=False``) must name its sources: nothing unstamped is drawn from the
        data folder without saying so."""
        if not mark and not sources:
            raise ValueError(f"figure {name!r}: an unstamped figure is official statistics; name its sources "
                             "(public table names or files)")
        if data is not None:
            fig = fig(self.figure_data(data, name))
        described = figures.describe(fig)
        if mark:
            figures.mark_synthetic(fig, self.synthetic)
        path = figures.save(fig, self.layout.figures_dir / f"{name}.svg")
        info = {"caption": caption or described["title"], "alt": alt or described["alt"],
                "synthetic_mark": bool(mark and self.synthetic is not False)}
        if data is not None:
            info["data"] = f"{name}{figures.DATA_SUFFIX}.csv"
        else:  # what an output checker needs to know about a figure with no data file (issue 27)
            info["data"] = None
            info["data_note"] = ("drawn from official statistics (the public files in the sidecar's data)" if not mark
                                 else "its data is not written (not drawn through rrlib.figures.FigureData): "
                                 "review the figure against the published tables")
        self._sidecar(path, extra={"figure": info}, sources=None if mark else sources)
        return path

    def emit(self, part: Part) -> Part:
        """Record ``part.results``, save ``part.figures`` (official figures unmarked), show its text
        and tables; returns ``part``."""
        from IPython.display import display

        if len(part.results):
            self.record_frame(part.results)
        for name, fig in part.figures.items():
            self.save_figure(fig, name, mark=not part.official, sources=part.sources)
        if part.text:
            self.show(part.text)
        for t in part.tables:
            display(t)
        return part

    def publish(self, df: pd.DataFrame, name: str, *, preset: str = "dfe", sources=None, **kw) -> pd.DataFrame:
        """Publish a table through disclosure control to ``<out>/tables/<name>.csv`` (+ sidecar).

        ``sources``: for a table of official statistics, the public tables it was made from (as in
        :meth:`save_figure`); its sidecar then names them instead of the run's data folder."""

        preset, kw = tre.for_run(preset, kw)  # RR_DISCLOSURE_PRESET (make ... DISCLOSURE=tre) wins
        out = disclosure.publish(df, name, self.layout.tables_dir, preset=preset, **kw)
        tre.keep_counts(df, name, self.layout.out_dir, kw)  # for the outbox's ACRO re-check
        published = out[0] if isinstance(out, tuple) else out
        self._sidecar(self.layout.tables_dir / f"{name}.csv",
                      extra={"disclosure": {"preset": preset}}, sources=sources)
        return published

    def _sidecar(self, path: Path, extra: dict | None = None, sources=None) -> None:
        data = provenance.official_state(public_files(sources)) if sources else None
        provenance.sidecar(path, chapter=self.name, notebook=self.notebook,
                           parameters=self.parameters, data_dir=self.layout.data_dir,
                           extra=extra, data=data)
        self.outputs.append(path)

    def banner(self, *, official_only: bool = False):
        """Markdown shown at the top of every chapter: which data, and whether it is synthetic.
        ``official_only``: the chapter reads no data folder, only the shipped official statistics; its
        results are then recorded as not synthetic (``synthetic: false``, folder "official statistics"),
        whatever the data folder of the run, and :meth:`table` refuses to read the data folder."""
        from IPython.display import Markdown

        d = self.layout.data_dir
        if official_only:
            self.official_only = True
            self.synthetic = False
            self.results.data.update({"folder": OFFICIAL_FOLDER, "synthetic": False})
            run = "" if self.area.is_default else f"**Area run: {self.area.name}.** "
            head = (run + "**Official statistics only.** This chapter reads only the official statistics shipped in "
                    "`data/raw/public/` (DfE, OHID Fingertips); it does not read the data folder "
                    f"(`{d.name}`), synthetic or real, and nothing in it is synthetic.")
        elif self.no_pupil_data:
            head = (f"**Area run: {self.area.name}** (DfE {self.area.code}, ONS {self.area.ons_code}). The "
                    f"official-statistics sections are computed for {self.area.name}; the sections that need "
                    f"pupil-level data are not computed (no pupil-level data for {self.area.name}; give "
                    "DATA_DIR=<its extracts>). The text between sections was written for Blackpool.")
        elif self.synthetic:
            head = ("**SYNTHETIC DATA.** This chapter was run on calibrated synthetic data "
                    f"(`{d.name}`, seed {self.manifest.get('seed')}, scale {self.manifest.get('scale')}). "
                    "Its numbers show that the pipeline works and reproduces the published figures it "
                    "was calibrated to; they are not evidence about young people in Blackpool. "
                    "Sections on **official statistics** (DfE, OHID Fingertips, ONS; so named in their headings) "
                    "are real whatever the data folder: their figures carry no SYNTHETIC stamp, their provenance "
                    "names the public files read, and no figure draws synthetic and official values together.")
        elif self.synthetic is False:
            head = (f"**Real data** (`{d}`). Every published table passes through disclosure control.")
        else:
            head = (f"**Data of unknown status** (`{d}` has no MANIFEST): treated as real for "
                    "disclosure control; do not publish without checking.")
        return Markdown(head)

    def check(self) -> dict:
        """The checks every chapter ends with, before its own: a reader would trip on any of these.

        Every recorded number is finite, every interval holds its estimate, every output file
        exists, and the synthetic flag the banner showed is the one recorded with the results.
        Returns the recorded results (``{key: entry}``) for the chapter's own checks; shows a
        one-line summary (results recorded, sections not computed, files written).
        """

        res, skipped = self.results.results, self.results.skipped
        for key, e in res.items():
            v = e["value"]
            if isinstance(v, float):
                assert math.isfinite(v), f"{key}: not a finite number ({v})"
            lo, hi = e.get("lower"), e.get("upper")
            if lo is not None and hi is not None and not isinstance(v, bool):
                assert lo <= v <= hi, f"{key}: the interval {lo} to {hi} does not hold the estimate {v}"
        missing = [str(p) for p in self.outputs if not Path(p).exists()]
        assert not missing, f"output files not written: {missing}"
        assert self.results.data.get("synthetic") == self.synthetic, "the synthetic flag was not recorded"
        self.show(f"Checks passed: {len(res)} results recorded, {len(skipped)} section(s) not computed"
                  + (f" ({', '.join(sorted(skipped))})" if skipped else "")
                  + f", {len(self.outputs)} files written; synthetic data: {self.synthetic}.")
        return res

    def finish(self) -> Path:
        """Write ``<out>/results/<chapter>.json``, with the data folder's tables the chapter read
        (``data.tables``); call as the notebook's last step."""
        self.results.data["tables"] = sorted(self.tables_read)
        return self.results.save()


def _kind_of(default) -> tuple[tuple[type, ...], str] | None:
    """The types a parameter may take, from its declared default (``None``: any)."""
    if default is None:
        return None
    if isinstance(default, bool):
        return (bool,), "true or false"
    if isinstance(default, int):
        return (int,), f"a whole number such as {default}"
    if isinstance(default, float):
        return (int, float), f"a number such as {default}"
    if isinstance(default, str):
        return (str,), f"text such as {default!r} (quote dates and years: -p name=\"'{default}'\")"
    if isinstance(default, (list, tuple)):
        return (list, tuple), f"a list such as {list(default)!r}"
    return None


def start(name: str, namespace: dict) -> Chapter:
    """Start chapter ``name`` from its notebook's globals: ``ch = chapter.start("reach", globals())``.

    The parameters are the names the notebook's ``parameters`` cell declares (read from the
    notebook, so they are typed once); each value must have the type of its declared default
    (``None`` defaults take anything), else :class:`ParameterError` names it and what is expected.
    Then :func:`setup` with ``data_dir``/``out_dir`` from them and every parameter recorded.
    """
    nb = NOTEBOOKS.get(name)
    if nb is None:
        raise ValueError(f"no chapter notebook calls chapter.start({name!r}) (known: {', '.join(NOTEBOOKS)})")
    declared = registry.declared_parameters(paths.NOTEBOOKS_DIR / nb)
    params = {k: namespace.get(k) for k in declared}
    for k, default in declared.items():
        kind = _kind_of(default)
        v = params[k]
        if kind is not None and v is not None and (not isinstance(v, kind[0])
                                                   or (isinstance(v, bool) and bool not in kind[0])):
            raise ParameterError(f"parameter {k} = {v!r} ({type(v).__name__}); expected {kind[1]}")
    return setup(name, data_dir=params.get("data_dir"), out_dir=params.get("out_dir"), parameters=params)


def setup(name: str, data_dir=None, out_dir=None, parameters: dict | None = None) -> Chapter:
    """Start a chapter: resolve paths, read the data folder's MANIFEST, set the figure style."""
    lay = paths.layout(data_dir, out_dir)
    area = areas.from_env()
    if not area.is_default and lay.default:
        raise ParameterError(f"an area run ({area.name}) never writes over the reference outputs: give OUT_DIR "
                             f"(make all AREA=... writes to output/area-{area.slug}/)")
    doc = manifest.read(lay.data_dir) if lay.data_dir.exists() else {}
    synthetic = bool(doc["synthetic"]) if "synthetic" in doc else None
    figures.style()
    res = Results(chapter=name, path=lay.result_file(name),
                  data={"folder": lay.data_dir.name, "synthetic": synthetic,
                        "seed": doc.get("seed"), "scale": doc.get("scale")})
    return Chapter(name=name, layout=lay, parameters=dict(parameters or {}), synthetic=synthetic,
                   manifest=doc, results=res, area=area)
