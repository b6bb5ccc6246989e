"""Test-session setup shared by every test: a machine that has never run the project (a new HOME
and an empty cache folder for each test run), Qt offscreen, runs and settings in temp directories,
the toy engine (tests/toy) registered beside the built-in ones (child processes inherit all of it),
and a time limit per test."""
import atexit
import os
import shutil
import tempfile

# A new user's machine: nothing cached (datasets, the digit classifier), no saved window layout.
# Each test run builds what it needs once, so an artefact that only builds correctly in some
# context (or a first-use path that crashes) fails here as it would for the user.
FRESH = tempfile.mkdtemp(prefix="genstudio-tests-")
atexit.register(shutil.rmtree, FRESH, ignore_errors=True)
os.environ["HOME"] = os.path.join(FRESH, "home")
os.environ["GENSTUDIO_CACHE"] = os.path.join(FRESH, "cache")
for variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "GENSTUDIO_RUNS"):
    os.environ.pop(variable, None)
os.makedirs(os.environ["HOME"])

# Qt offscreen (before anything imports Qt), on a 1600x1000 screen (offscreen's own is 800x800,
# which gets the small-screen arrangement; tests of that arrangement ask for it).
SCREEN = os.path.join(FRESH, "screen.json")
with open(SCREEN, "w") as screen:
    screen.write('{"screens": [{"name": "test", "x": 0, "y": 0, "width": 1600, "height": 1000, "dpr": 1}]}')
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={SCREEN}")
os.environ["GENSTUDIO_ENGINES"] = "toy=tests.toy.spec:TOY_SPEC"

import pytest  # noqa: E402

pytest_plugins = ("tests.time_limit",)


@pytest.fixture(scope="session", autouse=True)
def isolated_user_dirs(tmp_path_factory):
    """New runs go to a temp ``GENSTUDIO_RUNS`` (child processes inherit it) and the studio's
    QSettings (window layout) to a temp INI file, so tests never touch the user's own."""
    runs = tmp_path_factory.mktemp("runs")
    settings = tmp_path_factory.mktemp("settings")
    previous = os.environ.get("GENSTUDIO_RUNS")
    os.environ["GENSTUDIO_RUNS"] = str(runs)
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings))
    yield runs
    if previous is None:
        os.environ.pop("GENSTUDIO_RUNS", None)
    else:
        os.environ["GENSTUDIO_RUNS"] = previous


@pytest.fixture
def toy():
    """The toy engine on the 8x8 digits (builds in milliseconds)."""
    from engines.registry import build_engine

    def make(seed=0, **overrides):
        return build_engine("toy", "digits", "cpu", seed, overrides)
    return make
