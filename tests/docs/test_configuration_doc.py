#!/usr/bin/env python3
"""docs/configuration.md cannot drift from the code: every key is read from its single definition in the sources
(no build needed) and must have a table row in the page with a default and an example; every key the page names
must still exist, and so must every key the README and the other docs name.

Where the keys are defined:
  Spark conf       scala/spark/.../KafkaOffsetCommitterListener.scala, companion: `val XKey: String = ConfigPrefix + "..."`
                   and the families `val XPrefix: String = ConfigPrefix + ...` (kafka.<key>, clusters.<id>..., committer.*)
  source option    scala/spark/.../CommitPlan.scala: `val CommitGroupOption = "..."`
  engine settings  rust/src/config/engine.rs, `pub mod keys`, and scala/core/.../EngineSettings.java (must agree)
  JVM/process      scala/core/.../NativeLoader.java constants, rust/src/helper/launch.rs CORE_DUMPS_VARIABLE

Runs with the standard library alone (`python3 tests/docs/test_configuration_doc.py`, part of `make lint`) and
under pytest.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
LISTENER = ROOT / "scala/spark/src/main/scala/io/kafkaoffsetcommitter/spark/KafkaOffsetCommitterListener.scala"
COMMIT_PLAN = ROOT / "scala/spark/src/main/scala/io/kafkaoffsetcommitter/spark/CommitPlan.scala"
ENGINE_RS = ROOT / "rust/src/config/engine.rs"
ENGINE_JAVA = ROOT / "scala/core/src/main/java/io/kafkaoffsetcommitter/EngineSettings.java"
NATIVE_LOADER = ROOT / "scala/core/src/main/java/io/kafkaoffsetcommitter/NativeLoader.java"
HELPER_LAUNCH = ROOT / "rust/src/helper/launch.rs"


def other_pages() -> list:
    """The README and the other pages, which name keys in passing."""
    return [ROOT / "README.md", ROOT / "python" / "README.md",
            *sorted(path for path in (ROOT / "docs").glob("*.md") if path != DOC)]

# What a key of ours looks like in the page, so that the page's own mentions can be checked against the code.
OUR_KEY = re.compile(r"^(spark\.kafkaOffsetCommitter\.|committer\.|kafka\.offset\.committer\.|KAFKA_OFFSET_COMMITTER_"
                     r"|kafka\.consumer\.commit\.)")
# A family written with a placeholder: `spark.kafkaOffsetCommitter.kafka.<key>`, `...committer.*`.
PLACEHOLDER = re.compile(r"[<*]")


def _text(path: Path) -> str:
    if not path.is_file():
        raise AssertionError(f"{path} is gone: tests/docs/test_configuration_doc.py reads keys from it; point it at "
                             f"the file that defines them now")
    return path.read_text()


def _found(what: str, values, path: Path, at_least: int = 1):
    """Fails when a pattern found less than expected: a changed code layout must not make the check vacuous."""
    if len(values) < at_least:
        raise AssertionError(f"found {len(values)} {what} in {path} (expected at least {at_least}): the code's layout "
                             f"changed; update tests/docs/test_configuration_doc.py")
    return values


def _concatenation(expression: str, names: dict) -> str:
    """Evaluates `A + "b" + C.D` from string literals and known names."""
    parts = []
    for part in (piece.strip() for piece in expression.split("+")):
        literal = re.fullmatch(r'"([^"]*)"', part)
        if literal:
            parts.append(literal.group(1))
        elif part in names:
            parts.append(names[part])
        else:
            raise AssertionError(f"cannot evaluate `{part}` in `{expression}`; update tests/docs/test_configuration_doc.py")
    return "".join(parts)


def rust_engine_keys() -> set:
    text = _text(ENGINE_RS)
    module = re.search(r"pub mod keys \{(.*?)\n\}", text, re.S)
    _found("`pub mod keys` blocks", [module] if module else [], ENGINE_RS)
    constants = dict(re.findall(r'pub const (\w+): &str = "([^"]+)";', module.group(1)))
    _found("engine keys", constants, ENGINE_RS, at_least=2)
    return {value for name, value in constants.items() if name != "PREFIX"}


def java_engine_keys() -> tuple:
    text = _text(ENGINE_JAVA)
    prefix = re.search(r'public static final String PREFIX = "([^"]+)";', text)
    _found("PREFIX constants", [prefix] if prefix else [], ENGINE_JAVA)
    names = {"PREFIX": prefix.group(1)}
    keys = {_concatenation(expression, names)
            for name, expression in re.findall(r"public static final String (\w+) =\s*([^;]+);", text) if name != "PREFIX"}
    return prefix.group(1), _found("engine keys", keys, ENGINE_JAVA, at_least=2)


def listener_keys(engine_prefix: str) -> tuple:
    """(keys, prefixes, the prefix of them all) of the listener's Spark conf."""
    text = _text(LISTENER)
    companion = text[text.index("object KafkaOffsetCommitterListener"):]
    config_prefix = re.search(r'val ConfigPrefix = "([^"]+)"', companion)
    _found("ConfigPrefix vals", [config_prefix] if config_prefix else [], LISTENER)
    names = {"ConfigPrefix": config_prefix.group(1), "EngineSettings.PREFIX": engine_prefix}
    keys = {_concatenation(expression, names)
            for expression in re.findall(r"val \w+Key: String = ([^\n]+)", companion)}
    prefixes = {_concatenation(expression, names)
                for expression in re.findall(r"val \w+Prefix: String = ([^\n]+)", companion)}
    # ConfigPrefix itself names every key of the listener at once (`spark.kafkaOffsetCommitter.*`).
    return (_found("setting keys", keys, LISTENER, at_least=5),
            _found("setting prefixes", prefixes, LISTENER, at_least=3), config_prefix.group(1))


def source_options() -> set:
    return set(_found("source options", re.findall(r'val CommitGroupOption = "([^"]+)"', _text(COMMIT_PLAN)),
                      COMMIT_PLAN))


def process_settings() -> set:
    loader = re.findall(r'public static final String \w+ = "([^"]+)";', _text(NATIVE_LOADER))
    launch = re.findall(r'const CORE_DUMPS_VARIABLE: &str = "([^"]+)";', _text(HELPER_LAUNCH))
    return set(_found("property and variable names", loader, NATIVE_LOADER, at_least=4)) | set(
        _found("the core-dump variable", launch, HELPER_LAUNCH))


class Doc:
    def __init__(self, text: str):
        # Table rows: the first cell names the key(s), the second its default, the third an example.
        self.rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                     for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")]
        self.names = set(re.findall(r"`([^`\s]+?)(?:=[^`]*)?`", text))

    def row_of(self, key: str):
        for row in self.rows:
            if f"`{key}`" in row[0]:
                return row
        return None


def problems() -> list:
    engine_prefix, java_engine = java_engine_keys()
    rust_engine = rust_engine_keys()
    found = []
    if rust_engine != java_engine:
        found.append(f"engine keys differ between {ENGINE_RS.name} ({sorted(rust_engine - java_engine)} only there) "
                     f"and {ENGINE_JAVA.name} ({sorted(java_engine - rust_engine)} only there)")
    spark_keys, spark_prefixes, config_prefix = listener_keys(engine_prefix)
    keys = spark_keys | rust_engine | java_engine | source_options() | process_settings()
    doc = Doc(_text(DOC))

    for key in sorted(keys):
        row = doc.row_of(key)
        if row is None:
            found.append(f"`{key}` has no table row in {DOC.name}")
        elif len(row) < 4 or not row[1] or not row[2]:
            found.append(f"the row of `{key}` in {DOC.name} lacks its default or example: {row}")
    for prefix in sorted(spark_prefixes):
        if not any(name.startswith(prefix) for name in doc.names):
            found.append(f"no setting under `{prefix}` is described in {DOC.name}")

    # Keys under the committer prefix are engine keys too when written in the Spark conf.
    committer_prefix = next(prefix for prefix in spark_prefixes if prefix.endswith(engine_prefix))
    family_prefixes = spark_prefixes - {committer_prefix}
    bare_prefixes = spark_prefixes | {engine_prefix, config_prefix}

    def defined(name: str) -> bool:
        if name in keys or name in bare_prefixes:
            return True
        if PLACEHOLDER.search(name):
            literal = PLACEHOLDER.split(name, 1)[0]
            # `...kafka.<key>` under a family, or `committer.retry.*` standing for keys that exist
            return (any(literal.startswith(prefix) for prefix in spark_prefixes) or literal in bare_prefixes
                    or any(key.startswith(literal) for key in keys))
        if any(name.startswith(prefix) for prefix in family_prefixes):
            return True  # a Kafka setting, or a cluster id, under a family of the listener
        return name.startswith(committer_prefix) and engine_prefix + name[len(committer_prefix):] in keys

    # Every other page may name keys too: none may name one the code lacks.
    for page in [DOC, *other_pages()]:
        names = doc.names if page == DOC else Doc(page.read_text()).names
        for name in sorted(names):
            if OUR_KEY.match(name) and not defined(name):
                found.append(f"{page.relative_to(ROOT)} names `{name}`, which the code does not define")
    return found


def test_configuration_doc_matches_the_code():
    found = problems()
    assert not found, "\n".join(found)


if __name__ == "__main__":
    messages = problems()
    for message in messages:
        print(f"test_configuration_doc: {message}", file=sys.stderr)
    sys.exit(1 if messages else 0)
