"""PySpark, imported when it is needed, and a SparkContext set up for matching."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark import SparkContext

INSTALL = "install commonspace[spark] (pip install 'commonspace[spark]'), and Java 17 or newer"


class SparkNotInstalled(ImportError):
    """PySpark (or the Java it runs on) is missing: the Spark engine is an optional extra."""


def pyspark() -> ModuleType:
    """The ``pyspark`` module; raises :class:`SparkNotInstalled` when it is not installed."""
    try:
        import pyspark as module
    except ImportError as error:
        raise SparkNotInstalled(f"the Spark engine needs PySpark: {INSTALL}") from error
    return module


def is_local(master: str) -> bool:
    """Whether the master runs the executors on this machine (``local``, ``local[4]``, ``local-cluster``)."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def spark_context(
    master: str = "local[2]",
    *,
    app_name: str = "commonspace match",
    settings: Mapping[str, str] | None = None,
) -> SparkContext:
    """A new SparkContext for ``master``, quiet: no web UI, no progress bar, warnings and errors only.

    For a local master the driver binds to 127.0.0.1 and the executors run this very Python (unless
    ``PYSPARK_PYTHON`` says otherwise); on a cluster, where they run is the cluster's configuration.
    ``settings`` are further Spark properties. Raises :class:`SparkNotInstalled` without PySpark or Java.
    """
    module = pyspark()
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise SparkNotInstalled(f"Spark needs Java: no java on the PATH and no JAVA_HOME ({INSTALL})")
    conf = module.SparkConf().setMaster(master).setAppName(app_name)
    conf.set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
    conf.set("spark.log.level", "WARN")
    if is_local(master):
        conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
    for key, value in (settings or {}).items():
        conf.set(key, value)
    context: SparkContext = module.SparkContext(conf=conf)
    context.setLogLevel("WARN")
    if is_local(master) and "PYSPARK_PYTHON" not in os.environ:
        context.pythonExec = sys.executable  # not whatever "python3" is first on the PATH
    return context
