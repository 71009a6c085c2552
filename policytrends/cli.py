"""The ``policytrends`` command line. See ``policytrends --help`` and the README."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from policytrends import __version__
from policytrends.errors import PolicyTrendsError
from policytrends.files import check_writable, write_atomic, write_csv_atomic
from policytrends.settings import Settings, configure_environment

log = logging.getLogger("policytrends")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("scrapy", "urllib3", "httpx", "filelock", "transformers", "trafilatura", "htmldate",
                  "fontTools", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ----------------------------------------------------------------------------- commands
def _one_run_at_a_time(settings: Settings, command: str):
    """The run lock (policytrends/runlock.py): a second `run`, `retrain` or `backfill` stops with a message naming the first.

    Taken here, before Prefect starts (12-15 s), so a refusal is immediate; the flow takes it
    again inside this process, which the lock allows. Then the flows' Prefect API: a temporary
    server that dies with this process and holds its lock (policytrends/serve.py, flow_api).
    """
    import contextlib

    from policytrends.runlock import run_lock
    from policytrends.serve import flow_api

    with contextlib.ExitStack() as stack:  # the lock is let go again if the server does not start
        stack.enter_context(run_lock(settings.run_lock, command))
        stack.enter_context(flow_api(settings))
        return stack.pop_all()


# Commands that write the store, the registry or the tables without a flow. They hold the run
# lock for their whole work, as `run`, `retrain` and `backfill` do (with their Prefect API, in
# _one_run_at_a_time): a crawl typed by hand never runs into a scheduled night's crawl.
LOCKED_COMMANDS = ("crawl", "import", "train", "trends")
# Commands that only read a file or the settings: they create no state folder where they are typed.
READ_ONLY_COMMANDS = ("config", "sources")


def _lock_for(command: str, settings: Settings):
    import contextlib

    from policytrends.runlock import run_lock

    return run_lock(settings.run_lock, command) if command in LOCKED_COMMANDS else contextlib.nullcontext()


def _outputs_writable(settings: Settings) -> None:
    """The trend tables are written last: find out before the crawl and the classification that they cannot be."""
    check_writable(settings.outputs_dir, "outputs folder", "set POLICYTRENDS_OUTPUTS or outputs in the settings file to "
                   "a folder you can write in, or fix the folder's permissions", folder=True)


def cmd_run(args, settings: Settings) -> int:
    from policytrends.flows.nightly import nightly
    from policytrends.manifest import format_summary

    _outputs_writable(settings)
    if args.sources or settings.sources_file:  # a bad sources file: its one-line error now, not Prefect's traceback later
        from policytrends.crawlers.sources import load_sources

        load_sources(args.sources or settings.sources_file)
    with _one_run_at_a_time(settings, "run"):
        summary = nightly(sources_file=str(Path(args.sources).resolve()) if args.sources else None)
    print(format_summary(summary, settings))
    return 0


def cmd_crawl(args, settings: Settings) -> int:
    from policytrends import pipeline

    sources = Path(args.sources).resolve() if args.sources else None
    if sources is None and not args.demo:
        raise PolicyTrendsError("give --sources FILE (a YAML sources file) or --demo to crawl the bundled demo sites")
    from policytrends.crawlers.run import failed_count, unchanged_count

    with pipeline.sources_for_run(settings, sources) as src:
        result = pipeline.crawl_step(settings, src, only=args.only)
    print(f"{'source':<20}{'seen':>6}{'downloaded':>11}{'unchanged':>10}{'new':>6}{'updated':>8}{'duplicate':>10}{'failed':>7}"
          f"{'blocked':>8}{'waiting':>8}")
    for name, c in sorted(result["sources"].items()):
        print(f"{name:<20}{c.get('articles_seen', 0):>6}{c.get('pages_fetched', 0):>11}{unchanged_count(c):>10}"
              f"{c.get('documents_new', 0):>6}{c.get('documents_updated', 0):>8}{c.get('duplicates_dropped', 0):>10}{failed_count(c):>7}"
              f"{c.get('blocked', 0):>8}{c.get('waiting', 0):>8}")
    for note in result.get("notes", []):
        print(note)
    totals = pipeline.store_totals(settings)
    print(f"store: {totals['documents']} documents")
    if result["exit_code"]:
        print("error: some sources could not be reached; what the others stored is kept", file=sys.stderr)
        return 1
    return 0


def cmd_sources_check(args, settings: Settings) -> int:
    from policytrends.crawlers.sources import load_sources

    sources = load_sources(args.file)
    for s in sources:
        kinds = ", ".join(f"{k} x{len(v)}" for k, v in s.discovery.items())
        print(f"{s.name:<22} {kinds:<22} domains: {', '.join(s.allowed_domains)}  "
              f"patterns: {len(s.article_patterns)} article, {len(s.follow_patterns)} follow, {len(s.skip_patterns)} skip"
              f"{'  selectors: ' + ', '.join(sorted(s.selectors)) if s.selectors else ''}")
    print(f"{args.file}: {len(sources)} source(s), valid")
    return 0


def _read_table(path: Path):
    import pandas as pd

    from policytrends.models.labels import check_utf8

    if not path.exists():
        raise PolicyTrendsError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl", ".ndjson"):
        check_utf8(path)
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, dtype=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PolicyTrendsError(f"cannot read {path} as {suffix.lstrip('.')}: {str(exc).splitlines()[0]}") from None
    raise PolicyTrendsError(f"{path}: unsupported input format {suffix!r} (use .csv or .jsonl)")


def cmd_classify(args, settings: Settings) -> int:
    from policytrends.models.labels import shown_columns
    from policytrends.models.registry import Registry
    from policytrends.models.tagging import tag_frame

    inp, out = Path(args.input), Path(args.output)
    # Everything about the output is checked first: it is written after all the classification.
    if out.suffix.lower() not in (".csv", ".jsonl"):
        raise PolicyTrendsError(f"output {out}: use a .csv or .jsonl file name")
    check_writable(out, "output", "give -o a path in a folder you can write in")
    df = _read_table(inp)
    if "text" not in df.columns:
        raise PolicyTrendsError(f"{inp} has no 'text' column; found columns {shown_columns(df.columns)} "
                                "(rename the passage column to 'text')")
    registry = Registry(settings.registry_dir)
    model = registry.resolve(args.model)
    tagged = tag_frame(df, model)
    if out.suffix.lower() == ".csv":
        write_csv_atomic(tagged, out)
    else:
        write_atomic(out, lambda tmp: tagged.to_json(tmp, orient="records", lines=True, force_ascii=False))
    counts = {c[2:]: int((tagged["labels"].str.split(";").map(lambda x, t=c[2:]: t in x)).sum()) for c in tagged.columns if c.startswith("p_")}
    print(f"tagged {len(tagged)} passages with {model.version} -> {out}")
    print("passages per theme: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


def cmd_train(args, settings: Settings) -> int:
    from policytrends.corpus.store import CorpusStore
    from policytrends.models.registry import Registry
    from policytrends.models.training import format_metrics, train

    result = train([Path(p) for p in args.labels], Registry(settings.registry_dir), force=args.force,
                   store=CorpusStore(settings.db_url), new_themes=args.new_theme)
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"seed labels overridden by analysts' labels: {result.overridden}")
    if result.real_metrics:
        print(format_metrics(result.real_metrics, f"new version {result.version}, analysts' held-out real text:"))
    print(format_metrics(result.metrics, f"new version {result.version}, held-out labels:"))
    if result.previous_metrics:
        print(format_metrics(result.previous_metrics, f"current version {result.previous}, same held-out labels:"))
    if result.baselines:
        print("baselines on the same held-out passages: " + ", ".join(
            f"{name} macro-F1 {m['macro_f1']:.3f}" for name, m in result.baselines.items()))
    print(f"error rates for the trend tables' corrected prevalence come from {result.error_rates_from} labels")
    print(result.reason)
    return 0


def cmd_retrain(args, settings: Settings) -> int:
    from policytrends.flows.retrain import retrain

    _outputs_writable(settings)
    with _one_run_at_a_time(settings, "retrain"):
        summary = retrain(labels_files=[str(Path(p).resolve()) for p in args.labels], force=args.force,
                          new_themes=args.new_theme)
    t = summary["train"]
    print(t["reason"])
    if "classify" in summary:
        print(f"reclassified {summary['classify']['passages_classified']} passages with {t['version']}; "
              f"tables rebuilt in {settings.outputs_dir}")
    return 0


def cmd_label_queue(args, settings: Settings) -> int:
    from policytrends.corpus.store import CorpusStore
    from policytrends.models.labels import SEED_LABELS
    from policytrends.models.queue import LABEL_QUEUE_CSV, LABEL_QUEUE_LABEL_STUDIO, LABEL_STUDIO_CONFIG, write_queue
    from policytrends.models.registry import Registry

    out = Path(args.output_dir) if args.output_dir else settings.outputs_dir
    check_writable(out, "output folder", "give -o a folder you can write in" if args.output_dir else
                   "give -o a folder you can write in, or set POLICYTRENDS_OUTPUTS", folder=True)
    model = Registry(settings.registry_dir).require_current()
    queue = write_queue(CorpusStore(settings.db_url), model, args.n, out / LABEL_QUEUE_CSV,
                        out / LABEL_QUEUE_LABEL_STUDIO, out / LABEL_STUDIO_CONFIG)
    print(f"{len(queue)} passages to label (model {model.version}, mean uncertainty {queue['uncertainty'].mean():.2f}):")
    print(f"  {out / LABEL_QUEUE_CSV}: correct the 'labels' column (themes joined by ';', empty for none), then")
    print(f"      policytrends train --labels {SEED_LABELS} --labels {out / LABEL_QUEUE_CSV}")
    print(f"  {out / LABEL_QUEUE_LABEL_STUDIO}: import into Label Studio with the interface in {out / LABEL_STUDIO_CONFIG};")
    print("      export as JSON and pass the export to `policytrends train --labels`")
    return 0


def cmd_evaluate(args, settings: Settings) -> int:
    from policytrends.models.labels import read_labels
    from policytrends.models.registry import HELDOUT_FILE, Registry
    from policytrends.models.training import baseline_metrics, evaluate, format_comparison, format_metrics

    registry = Registry(settings.registry_dir)
    model = registry.resolve(args.model)
    if args.labels is None and not args.heldout:
        raise PolicyTrendsError("evaluate needs labelled passages: --labels FILE, or --heldout for the model's own held-out set")
    if args.labels is not None and args.heldout:
        raise PolicyTrendsError("give either --labels FILE or --heldout, not both")
    where = str(model.folder / HELDOUT_FILE) if args.heldout else args.labels
    df = model.heldout() if args.heldout else read_labels(args.labels)
    if df.empty:
        raise PolicyTrendsError(f"{where}: no labelled passages to evaluate on")
    metrics = evaluate(model.load(), df, model.themes)
    metrics["model_version"] = model.version
    if args.baselines:
        metrics["baselines"] = baseline_metrics(model, df, model.themes)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(format_metrics(metrics, f"{model.version} on {where}:"))
    if args.baselines:
        print("\nbaselines trained on the same training labels, scored on the same passages:")
        print(format_comparison(metrics, metrics["baselines"]))
    return 0


def cmd_trends(args, settings: Settings) -> int:
    from policytrends import pipeline
    from policytrends.trends.outputs import THEME_SPIKES, THEME_TRENDS_MONTHLY, TRENDS_REPORT

    _outputs_writable(settings)
    summary = pipeline.aggregate_step(settings)
    print(f"trend tables rebuilt with model {summary['model_version']} in {settings.outputs_dir}:")
    print(f"  {settings.output(THEME_TRENDS_MONTHLY)}: {summary['rows']} rows, {summary['periods']} months")
    if "spikes" in summary:
        print(f"  {settings.output(THEME_SPIKES)}: {summary['spikes']} spikes")
    print(f"  {settings.output(TRENDS_REPORT)}: open this first (outputs/README.md lists every table)")
    for warning in summary.get("warnings", []):
        print(f"  warning: {warning}")
    return 0


def cmd_models(args, settings: Settings) -> int:
    from policytrends.models.registry import Registry

    registry = Registry(settings.registry_dir)
    current = registry.current()
    versions = registry.versions()
    if not versions:
        print(f"no models in {registry.root} (run `policytrends train --labels FILE` or `policytrends run`)")
        return 0
    for v in versions:
        m = v.info["metrics"]["heldout"]
        mark = "*" if current and v.version == current.version else " "
        per = " ".join(f"{t}={x['f1']:.3f}" for t, x in m["per_theme"].items())
        print(f"{mark} {v.version}  macro-F1 {m['macro_f1']:.3f}  {per}")
    return 0


def cmd_config(args, settings: Settings) -> int:
    from policytrends.settings import SETTINGS_ENV, SETTINGS_EXAMPLE, WRITE_EXAMPLE

    if args.example:
        print(SETTINGS_EXAMPLE.read_text(encoding="utf-8"), end="")
        return 0

    described = settings.describe()
    if args.json:
        print(json.dumps({"settings_file": str(settings.settings_file) if settings.settings_file else None,
                          "settings": described}, indent=2))
        return 0
    if settings.settings_file:
        print(f"settings file: {settings.settings_file}")
    else:
        print(f"settings file: none (write one with `{WRITE_EXAMPLE}`, or set {SETTINGS_ENV})")
    width = max(len(d["value"] or "-") for d in described.values())
    names = max(len(name) for name in described)
    for name, d in described.items():
        print(f"{name:<{names}} {d['value'] or '-':<{width}}  {d['origin']}")
    print(f"next scheduled run: {settings.next_run():%Y-%m-%d %H:%M %Z}")
    return 0


def cmd_import(args, settings: Settings) -> int:
    from policytrends import pipeline
    from policytrends.corpus.importer import import_file
    from policytrends.corpus.store import CorpusStore

    report = import_file(Path(args.file), CorpusStore(settings.db_url))
    for message in report.rejected:
        print(f"rejected: {message}", file=sys.stderr)
    segmented = pipeline.segment_step(settings)
    print(f"imported {args.file}: {report.rows} rows, {report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.duplicates} duplicates of stored text, {len(report.rejected)} rejected")
    totals = pipeline.store_totals(settings)
    print(f"store: {totals['documents']} documents, {totals['passages']} passages "
          f"({segmented['passages_written']} new passages from {segmented['documents_segmented']} documents)")
    if (report.new or report.updated) and report.first_date:
        print(f"next: classify them and rebuild the tables with `policytrends backfill --since {report.first_date} "
              f"--until {report.last_date}` (or the next `policytrends run`)")
    elif report.new or report.updated:
        print("next: the next `policytrends run` classifies them and rebuilds the tables")
    if report.rejected:
        print(f"error: {len(report.rejected)} of {report.rows} rows rejected (listed above); the other rows were imported",
              file=sys.stderr)
        return 1
    return 0


def _iso_date(option: str, value: str):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyTrendsError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD, e.g. {option} 2024-01-31") from None


def cmd_backfill(args, settings: Settings) -> int:
    from policytrends.models.registry import Registry

    since, until = _iso_date("--since", args.since), _iso_date("--until", args.until)
    if since > until:
        raise PolicyTrendsError(f"--since {since} is after --until {until}; give the earlier date first")
    registry = Registry(settings.registry_dir)
    model = registry.resolve(args.model)  # a clear error before Prefect starts
    from policytrends.flows.backfill import backfill

    _outputs_writable(settings)
    with _one_run_at_a_time(settings, "backfill"):
        result = backfill(since=str(since), until=str(until), model_version=model.version)
    c, t = result["classify"], result["tables"]
    print(f"backfill {since} to {until}: {c['passages_classified']} passages reclassified with {c['model_version']}"
          f"{'' if c['current'] else ' (not the current model)'}")
    if t["rebuilt"]:
        print(f"tables rebuilt in {t['outputs']}: {t['rows']} monthly rows, {t['periods']} months")
        return 0
    print(f"tables not rebuilt: {t['reason']}")
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from policytrends.serve import serve

    return serve(settings, work_pool=args.work_pool, sources_file=Path(args.sources).resolve() if args.sources else None)


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policytrends",
        description="Crawl think-tank commentary, tag passages with security-policy themes, and build trend tables.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--settings", metavar="FILE",
                        help="settings file (TOML; default: $POLICYTRENDS_SETTINGS, else policytrends.toml in the working directory)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="the nightly pipeline once (demo sites if no sources are configured)")
    p.add_argument("--sources", help="YAML sources file (default: $POLICYTRENDS_SOURCES, else the bundled demo sites)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("crawl", help="crawl the sources in a YAML file into the store")
    p.add_argument("--sources", help="YAML sources file")
    p.add_argument("--demo", action="store_true", help="serve and crawl the bundled demo sites")
    p.add_argument("--only", action="append", metavar="NAME", help="crawl only this source (repeatable)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("sources", help="work with sources files")
    sources_sub = p.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    q = sources_sub.add_parser("check", help="validate a sources file without crawling")
    q.add_argument("file", help="YAML sources file")
    q.set_defaults(func=cmd_sources_check)

    p = sub.add_parser("classify", help="tag a CSV or JSONL of passages (column 'text') with the current model")
    p.add_argument("input", help="CSV or JSONL file with a 'text' column")
    p.add_argument("-o", "--output", required=True, help="output .csv or .jsonl: input rows plus p_<theme> and labels")
    p.add_argument("--model", help="model version (default: current)")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("train", help="train a model version from labels; promote it only if not worse")
    p.add_argument("--labels", required=True, action="append", metavar="FILE",
                   help="CSV (text, labels joined by ';'), JSONL or Label Studio JSON; repeat to combine files "
                        "(a passage in several files takes the labels of the last one; files outside models/seed/ "
                        "are your labels of real text: they override seed labels and weigh more)")
    p.add_argument("--force", action="store_true", help="promote even if held-out macro-F1 drops")
    p.add_argument("--new-theme", action="append", default=[], metavar="NAME",
                   help="a theme the labels add to the taxonomy (repeatable); without it an unknown theme is refused")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("retrain", help="the retrain flow: train, promote if not worse, reclassify the corpus, rebuild tables")
    p.add_argument("--labels", required=True, action="append", metavar="FILE",
                   help="label files as for `train` (repeatable)")
    p.add_argument("--force", action="store_true", help="promote even if held-out macro-F1 drops")
    p.add_argument("--new-theme", action="append", default=[], metavar="NAME", help="as for `train`")
    p.set_defaults(func=cmd_retrain)

    p = sub.add_parser("evaluate", help="per-theme precision, recall, F1 of a model on labelled passages")
    p.add_argument("--labels", metavar="FILE", help="labelled passages (CSV, JSONL or Label Studio JSON)")
    p.add_argument("--heldout", action="store_true", help="use the model's own held-out labels (never seen in training)")
    p.add_argument("--baselines", action="store_true",
                   help="also score the keyword matcher and TF-IDF + logistic regression, trained on the model's training labels")
    p.add_argument("--model", help="model version (default: current)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("label-queue", help="the passages whose labels would help the model most (CSV and Label Studio JSON)")
    p.add_argument("-n", type=int, default=50, help="how many passages (default 50)")
    p.add_argument("-o", "--output-dir", help="folder for the files (default: the outputs folder)")
    p.set_defaults(func=cmd_label_queue)

    p = sub.add_parser("trends", help="rebuild the trend tables from the store")
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("models", help="list model versions with their held-out metrics (* = current)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("import", help="load articles from a JSONL or CSV file into the store, without crawling",
                       description="Load articles (columns url, source, date, title, text; authors optional) into the "
                                   "store through the crawler's idempotent upsert (canonical URL, content hash), and cut "
                                   "them into passages. Importing a file twice adds nothing. Bad rows are named and skipped.")
    p.add_argument("file", help=".jsonl (one JSON object per line) or .csv with a header row")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("backfill", help="reclassify the passages of a date range with a model version and rebuild the tables",
                       description="Reclassify every passage of the documents published from --since to --until "
                                   "(inclusive) with one model version (default: the current one), overwriting that "
                                   "version's predictions for them, then rebuild the trend tables. The current "
                                   "version's tables go to the outputs folder; another version's to "
                                   "outputs/backfill-<version>/. Tables never mix model versions: if passages outside "
                                   "the range lack the version's predictions, no table is written and the reason is printed.")
    p.add_argument("--since", required=True, metavar="YYYY-MM-DD", help="first publication date of the range")
    p.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="last publication date of the range (inclusive)")
    p.add_argument("--model", metavar="VERSION", help="model version (default: current; `policytrends models` lists them)")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser(
        "serve", help="the nightly schedule and on-demand retrain as Prefect deployments (starts a local Prefect server "
                      "unless PREFECT_API_URL is set)",
        description="Serve the deployments nightly (cron from the schedule setting, in its timezone; runs never overlap) "
                    "and retrain (on demand) until stopped. Without PREFECT_API_URL a Prefect server is started on "
                    "127.0.0.1 with its database in the state folder. With --work-pool NAME the deployments are "
                    "registered on that work pool of the server in PREFECT_API_URL and the command returns: run "
                    "`prefect worker start --pool NAME` on the machines that should run them (docs/operations.md).")
    p.add_argument("--work-pool", metavar="NAME",
                   help="register the deployments on this Prefect work pool (workers on other machines run them) "
                        "instead of serving them here; needs PREFECT_API_URL")
    p.add_argument("--sources", help="YAML sources file for the nightly runs (default: the sources setting, else the demo sites)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("config", help="the effective settings and where each value came from")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--example", action="store_true", help="print a settings file that documents every key, to start your own")
    p.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.settings:  # through the environment, so the crawler's process and Prefect's tasks read it too
        import os

        os.environ["POLICYTRENDS_SETTINGS"] = str(Path(args.settings).expanduser().resolve())
    _setup_logging(args.verbose)
    try:
        settings = Settings()
        configure_environment(settings)
        if args.command not in READ_ONLY_COMMANDS:
            settings.ensure_dirs()
        with _lock_for(args.command, settings):
            return args.func(args, settings)
    except PolicyTrendsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: what was stored so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
