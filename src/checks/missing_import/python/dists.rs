//! Which import names a distribution provides, when its name does not say: a built-in table of
//! the well-known mismatches, namespace families, and the normalized name.

/// Distributions (normalized) whose import names differ from their names.
const KNOWN: &[(&str, &[&str])] = &[
    ("apache_airflow", &["airflow"]),
    ("argon2_cffi", &["argon2"]),
    ("attrs", &["attr", "attrs"]),
    ("avro_python3", &["avro"]),
    ("beautifulsoup4", &["bs4"]),
    ("cffi", &["cffi", "_cffi_backend"]),
    ("cython", &["cython", "pyximport"]),
    ("dbt_core", &["dbt"]),
    ("dbus_python", &["dbus"]),
    ("django_cors_headers", &["corsheaders"]),
    ("django_crispy_forms", &["crispy_forms"]),
    ("django_environ", &["environ"]),
    ("django_filter", &["django_filters"]),
    ("djangorestframework", &["rest_framework"]),
    ("dnspython", &["dns"]),
    ("factory_boy", &["factory"]),
    ("faiss_cpu", &["faiss"]),
    ("faiss_gpu", &["faiss"]),
    ("ffmpeg_python", &["ffmpeg"]),
    ("gdal", &["osgeo"]),
    ("gitpython", &["git"]),
    (
        "google_api_python_client",
        &["googleapiclient", "apiclient"],
    ),
    ("grpcio", &["grpc"]),
    ("grpcio_tools", &["grpc_tools"]),
    ("kafka_python", &["kafka"]),
    (
        "lightning",
        &["lightning", "pytorch_lightning", "lightning_fabric"],
    ),
    ("matplotlib", &["matplotlib", "mpl_toolkits", "pylab"]),
    ("mkdocs_material", &["material"]),
    ("msgpack_python", &["msgpack"]),
    ("mysql_connector_python", &["mysql"]),
    ("mysqlclient", &["mysqldb"]),
    ("onnxruntime_gpu", &["onnxruntime"]),
    ("opencv_contrib_python", &["cv2"]),
    ("opencv_contrib_python_headless", &["cv2"]),
    ("opencv_python", &["cv2"]),
    ("opencv_python_headless", &["cv2"]),
    ("opensearch_py", &["opensearchpy"]),
    ("paho_mqtt", &["paho"]),
    ("pdfminer_six", &["pdfminer"]),
    ("pillow", &["pil"]),
    ("pip_tools", &["piptools"]),
    ("poetry_core", &["poetry"]),
    ("protobuf", &["google"]),
    ("psycopg2_binary", &["psycopg2"]),
    ("psycopg_binary", &["psycopg"]),
    ("pycairo", &["cairo"]),
    ("pycapnp", &["capnp"]),
    ("pycryptodome", &["crypto"]),
    ("pycryptodomex", &["cryptodome"]),
    ("pygithub", &["github"]),
    ("pygobject", &["gi"]),
    ("pyjwt", &["jwt"]),
    ("pymongo", &["pymongo", "bson", "gridfs"]),
    ("pymupdf", &["fitz", "pymupdf"]),
    ("pynacl", &["nacl"]),
    (
        "pyobjc",
        &["objc", "foundation", "appkit", "cocoa", "quartz"],
    ),
    ("pyobjc_core", &["objc"]),
    ("pyopenssl", &["openssl"]),
    ("pyserial", &["serial"]),
    ("pysocks", &["socks", "sockshandler"]),
    ("pytest", &["pytest", "_pytest", "py"]),
    ("pytest_xdist", &["xdist"]),
    ("python_dateutil", &["dateutil"]),
    ("python_docx", &["docx"]),
    ("python_dotenv", &["dotenv"]),
    ("python_engineio", &["engineio"]),
    ("python_jose", &["jose"]),
    ("python_json_logger", &["pythonjsonlogger"]),
    ("python_ldap", &["ldap", "ldapurl", "ldif"]),
    ("python_levenshtein", &["levenshtein"]),
    ("python_magic", &["magic"]),
    ("python_multipart", &["multipart", "python_multipart"]),
    ("python_pptx", &["pptx"]),
    ("python_slugify", &["slugify"]),
    ("python_snappy", &["snappy"]),
    ("python_socketio", &["socketio"]),
    ("python_telegram_bot", &["telegram"]),
    ("pyusb", &["usb"]),
    (
        "pywin32",
        &[
            "win32api",
            "win32con",
            "win32com",
            "win32gui",
            "win32file",
            "win32process",
            "win32event",
            "win32pipe",
            "win32service",
            "win32serviceutil",
            "win32timezone",
            "win32clipboard",
            "win32security",
            "win32crypt",
            "win32print",
            "win32ui",
            "pywintypes",
            "pythoncom",
            "winerror",
            "_win32typing",
        ],
    ),
    ("pyyaml", &["yaml", "_yaml"]),
    ("pyzmq", &["zmq"]),
    ("ruamel_yaml", &["ruamel"]),
    ("scikit_image", &["skimage"]),
    ("scikit_learn", &["sklearn"]),
    (
        "setuptools",
        &[
            "setuptools",
            "pkg_resources",
            "_distutils_hack",
            "distutils",
        ],
    ),
    ("slackclient", &["slack"]),
    ("snowflake_connector_python", &["snowflake"]),
    ("speechrecognition", &["speech_recognition"]),
    ("tensorflow_cpu", &["tensorflow"]),
    ("tensorflow_gpu", &["tensorflow"]),
    ("umap_learn", &["umap"]),
    ("websocket_client", &["websocket"]),
    ("wxpython", &["wx"]),
];

/// Families of distributions named `<prefix>-<rest>` that install into one namespace package.
const NAMESPACES: &[&str] = &[
    "azure",
    "backports",
    "google",
    "jaraco",
    "opentelemetry",
    "sphinxcontrib",
    "zope",
];

/// Tools whose own dependencies the files that use them import without declaring them (a
/// Sphinx `conf.py` imports docutils and packaging; a conftest imports pluggy): what installing
/// the tool installs.
const TOOL_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("pytest", &["_pytest", "pluggy", "iniconfig", "packaging"]),
    (
        "sphinx",
        &[
            "docutils",
            "packaging",
            "pygments",
            "jinja2",
            "markupsafe",
            "babel",
            "imagesize",
            "snowballstemmer",
            "alabaster",
            "requests",
        ],
    ),
];

/// A distribution name as PEP 503 normalizes it, with `_` for the separators (the form an import
/// name takes): lower case, runs of `-`, `_`, `.` become one `_`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The top-level import names (lower case) a distribution provides, by the built-in knowledge.
pub fn provided(distribution: &str) -> Vec<String> {
    let normalized = normalize(distribution);
    let mut names = vec![normalized.clone()];
    // `python-foo`, `foo-python`, `pyfoo`, `foo-py`: the import name is often `foo`.
    let affixes = [
        normalized.strip_prefix("python_"),
        normalized.strip_suffix("_python"),
        normalized.strip_prefix("py").filter(|rest| rest.len() > 2),
        normalized.strip_suffix("_py"),
        normalized
            .strip_suffix("py")
            .filter(|rest| rest.len() > 2 && !rest.ends_with('_')),
    ];
    names.extend(affixes.into_iter().flatten().map(str::to_string));
    if normalized.starts_with("types_") {
        return Vec::new();
    }
    if let Some((_, brings)) = TOOL_DEPENDENCIES.iter().find(|(t, _)| *t == normalized) {
        names.extend(brings.iter().map(|s| (*s).to_string()));
    }
    if let Ok(at) = KNOWN.binary_search_by(|(d, _)| (*d).cmp(normalized.as_str())) {
        names.extend(KNOWN[at].1.iter().map(|s| (*s).to_string()));
    }
    // `zope.interface`, `ruamel.yaml`, `discord.py`: the first part is a package of its own.
    let lowered = distribution.trim().to_ascii_lowercase();
    if let Some((head, _)) = lowered.split_once('.') {
        names.push(normalize(head));
    }
    if let Some((head, _)) = normalized.split_once('_')
        && NAMESPACES.contains(&head)
    {
        names.push(head.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(KNOWN.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(KNOWN.iter().all(|(d, _)| normalize(d) == *d));
    }

    #[test]
    fn normalizes_and_maps_the_well_known_mismatches() {
        assert_eq!(normalize("Foo.Bar--baz"), "foo_bar_baz");
        assert!(provided("PyYAML").contains(&"yaml".to_string()));
        assert!(provided("Pillow").contains(&"pil".to_string()));
        assert!(provided("python-dateutil").contains(&"dateutil".to_string()));
        assert!(provided("zope.interface").contains(&"zope".to_string()));
        assert!(provided("google-cloud-storage").contains(&"google".to_string()));
        assert!(provided("python-multipart").contains(&"multipart".to_string()));
        assert!(provided("requests").contains(&"requests".to_string()));
        assert!(!provided("requests").contains(&"request".to_string()));
        assert!(provided("types-requests").is_empty());
        assert!(provided("Sphinx").contains(&"docutils".to_string()));
    }
}
