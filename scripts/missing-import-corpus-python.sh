# The Python half of scripts/missing-import-corpus.sh (sourced; uses its helpers).

PYTHON_PROJECTS="flask==3.1.3 requests==2.34.2 httpx==0.28.1 rich==15.0.0 black==26.10.1 attrs==26.1.0 pydantic==2.14.4 sympy==1.14.0"

# The configuration each project gets, as its maintainers would write it: what an sdist lacks or
# the project does not declare. Every project runs with guarded-level = "warn" (optional imports
# inside `try/except ImportError` are reported, not blocking).
python_config() {
    case $1 in
        # Optional dependencies sympy imports but declares nowhere (its docs list them), and its
        # doc/ requirements, which the sdist does not ship; `all` is examples/all.py, put on
        # sys.path by runtests. One true finding stays: an XFAIL test imports
        # sympy.plotting.plot.ScreenShot, which does not exist.
        sympy) echo 'exclude = ["doc/"]
options = { guarded-level = "warn", allow = ["gmpy2", "flint", "IPython", "pyglet", "aesara", "theano", "antlr4", "Cython", "symengine", "matchpy", "pysat", "pycosat", "pymc3", "pymc", "sage", "pydy", "lxml", "PIL", "multiset", "all"] }' ;;
        # Test requirements live in the repository's requirements.txt, not in the sdist; trio is
        # optional (imported under TYPE_CHECKING and when running under trio).
        httpx) echo 'exclude = ["tests/"]
options = { guarded-level = "warn", allow = ["trio"] }' ;;
        # IPython arrives with the `jupyter` extra's ipywidgets.
        rich) echo 'options = { guarded-level = "warn", allow = ["IPython"] }' ;;
        # tests/data holds formatter inputs, not code.
        black) echo 'exclude = ["tests/data/"]
options = { guarded-level = "warn" }' ;;
        # simplejson is used when the guarded import found it.
        requests) echo 'options = { guarded-level = "warn", allow = ["simplejson"] }' ;;
        # tests/mypy holds mypy plugin inputs; optional packages of tests and plugins.
        pydantic) echo 'exclude = ["tests/mypy/"]
options = { guarded-level = "warn", allow = ["hypothesis", "rich", "numpy", "matplotlib", "tqdm", "module_1"] }' ;;
        *) echo 'options = { guarded-level = "warn" }' ;;
    esac
}
# True findings the projects carry (see python_config).
expected_findings() { case $1 in sympy) echo 1 ;; *) echo 0 ;; esac; }

# sdist NAME VERSION DEST: the release's sdist from PyPI, extracted into DEST (downloads cached).
sdist() {
    local name=$1 version=$2 dest=$3 archive
    archive=$(ls "$dl" 2>/dev/null | grep -i "^${name}-${version}\.\(tar\.gz\|zip\)$" | head -1 || true)
    if [ -z "$archive" ]; then
        python3 -m pip download -q --retries 5 --timeout 60 --no-deps --no-binary :all: "$name==$version" -d "$dl" >/dev/null 2>&1 \
            || { echo "  $name $version: download failed" >&2; return 1; }
        archive=$(ls "$dl" | grep -i "^${name}-${version}\.\(tar\.gz\|zip\)$" | head -1)
    fi
    mkdir -p "$dest" && tar -xzf "$dl/$archive" -C "$dest" --strip-components=1
}

python_repo() {
    local name=$1 version=$2 dest=$work/py/$1
    sdist "$name" "$version" "$dest" || return 1
    mkdir -p "$dest/.gatehouse"
    printf '[rules.missing-import]\n%s\n' "$(python_config "$name")" >"$dest/.gatehouse/config.toml"
    git -C "$dest" init -q -b main && commit_all "$dest" "$name $version"
}

python_corpus() {
    echo "== Python: zero blocking findings on pristine releases (scope all)"
    mkdir -p "$work/py"
    local spec name
    for spec in $PYTHON_PROJECTS; do
        name=${spec%%==*}
        python_repo "$name" "${spec##*==}" && pristine "$spec" "$work/py/$name" "$(expected_findings "$name")" py || fail=1
    done
    echo "== Python: planted faults"
    python_plants
}

python_plants() {
    local fl=$work/py/flask rq=$work/py/requests rc=$work/py/rich
    plant "$fl" src/flask/app.py undeclared-package "hallucinated package" 'import fastjsonx'
    plant "$fl" src/flask/app.py undeclared-package "real but undeclared package" 'import numpy'
    plant "$fl" src/flask/app.py undeclared-package "near-miss of a declared name" 'import werkzueg'
    plant "$fl" src/flask/app.py missing-module "missing first-party submodule" 'import flask.sansio_helpers'
    plant "$fl" src/flask/app.py missing-name "renamed first-party function" \
        'from flask.helpers import get_debug_flags, url_for_static'
    plant "$fl" src/flask/app.py missing-module "bad relative import" 'from .sansio.nope import Scaffold'
    plant "$fl" src/flask/app.py missing-module "relative import above the package" 'from ..flask_extras import thing'
    plant "$fl" src/flask/helpers.py undeclared-package "test-only package in library code" 'import pytest'
    plant "$fl" src/flask/json/provider.py undeclared-package "docs-only package in library code" \
        'from sphinx.util import logging as sphinx_logging'
    plant "$fl" src/flask/cli.py undeclared-package "dev-group package in library code" 'import tox'
    plant "$fl" tests/test_helpers.py undeclared-package "hallucinated package in a test" 'import pytest_flask_helpers'
    plant "$fl" docs/conf.py undeclared-package "hallucinated sphinx extension in docs" 'import sphinx_pallets_extras'
    plant "$rq" src/requests/utils.py undeclared-package "test-only package in library (requirements-dev)" \
        'import pytest_httpbin'
    plant "$rq" src/requests/sessions.py undeclared-package "hallucinated package, function-local" \
        'def _retry():
    import requests_retry_magic
    return requests_retry_magic'
    plant "$rc" rich/console.py undeclared-package "hallucinated package in library code" 'import rich_colors_extra'
    # New dependencies: declared by the agent too (the slopsquatting case).
    plant_edit "$fl" pyproject.toml new-dependency "package added to [project] dependencies" \
        'sub("pyproject.toml", "\"werkzeug>=3.1.0\",", "\"werkzeug>=3.1.0\",\n    \"flask-session-utils\",")'
    plant_edit "$fl" src/flask/sessions.py unlocked-dependency "declared and imported, not in uv.lock" \
        'sub("pyproject.toml", "\"werkzeug>=3.1.0\",", "\"werkzeug>=3.1.0\",\n    \"flask-session-utils\",")
add("src/flask/sessions.py", "import flask_session_utils")'
    plant_edit "$rq" requirements-dev.txt new-dependency "package added to requirements-dev.txt" \
        'add("requirements-dev.txt", "pytest-httpbin-extras==0.3")'
}
