"""build-index: the similar-case indexes (faiss + case table + cohort map) of the current store."""
from __future__ import annotations

import argparse
import logging
import time

import duckdb

logger = logging.getLogger(__name__)

KINDS = ("fused", "imaging")


def register(sub: argparse._SubParsersAction) -> None:
    _register_post_build()
    p = sub.add_parser("build-index", help="build the similar-case indexes of the current evidence store "
                                           "(also done by build-demo, and on first use)")
    p.add_argument("--kind", choices=(*KINDS, "all"), default="all", help="case representation (default: both)")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if an up-to-date index exists")
    p.add_argument("--patient", help="then print the top similar cases of this patient_id")
    p.add_argument("-k", type=int, default=10, help="neighbours to print with --patient (default 10)")
    p.set_defaults(func=cmd_build_index)


def build_indexes(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...] = KINDS, rebuild: bool = True) -> list:
    """Build (or load) and persist each kind's case index; the features are computed once for all kinds."""
    from core.models.features import patient_features
    from core.similar.case_index import case_index

    feats = patient_features(con)
    return [case_index(con, kind, rebuild=rebuild, features=feats) for kind in kinds]


def index_after_build(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """build-demo step: index the new store version's cases (runs after embeddings and model training)."""
    for ci in build_indexes(con, KINDS, rebuild=True):
        logger.info("similar-case index %s: %d cases, %d historical indexed, %s, map %s", ci.meta.kind,
                    ci.meta.n_cases, ci.meta.n_indexed, ci.meta.index_label, ci.meta.map_method)


index_after_build.draws_map = True  # build-demo compiles UMAP ahead of this step (core.similar.umap_worker)


def _register_post_build() -> None:
    try:
        from core.synth.build import POST_BUILD_STEPS
    except ModuleNotFoundError:  # generator not in this checkout
        return
    if index_after_build not in POST_BUILD_STEPS:
        POST_BUILD_STEPS.append(index_after_build)


def cmd_build_index(args: argparse.Namespace) -> int:
    from core.similar.case_index import index_dir
    from core.store import db

    kinds = KINDS if args.kind == "all" else (args.kind,)
    con = db.connect_readonly()
    try:
        t0 = time.perf_counter()
        built = build_indexes(con, kinds, rebuild=args.rebuild)
        for ci in built:
            m = ci.meta
            print(f"{m.kind}: {m.n_cases} cases ({m.n_indexed} historical in the index), d={m.dim}, {m.index_label}, "
                  f"map {m.map_method}, recipe {m.recipe_version}, encoder {m.encoder_version or 'none'}, "
                  f"store {m.store_version}")
        print(f"index folder: {index_dir(con)}  ({time.perf_counter() - t0:.1f} s)")
        if args.patient:
            _print_neighbours(con, args.patient, args.k, kinds[0])
    finally:
        con.close()
    return 0


def _print_neighbours(con: duckdb.DuckDBPyConnection, patient_id: str, k: int, kind: str) -> None:
    from core.similar.search import NoCaseVector, similar_cases

    try:
        df = similar_cases(con, patient_id, k, kind)
    except NoCaseVector as e:
        print(str(e))
        return
    for r in df.iter_rows(named=True):
        print(f"{r['rank']:>2}. {r['patient_id']}  sim {r['similarity']:.3f}  {r['first_line_therapy'] or '-'}  "
              f"PFS {r['pfs_months'] if r['pfs_months'] is not None else '-'} mo"
              f"{'' if r['pfs_event'] else '+'}")
        print(f"    why: {r['why_similar']}")
        print(f"    differs: {r['what_differs']}")
