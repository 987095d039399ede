//! The codes, their messages (worded like ruff's) and help texts, and how a finding is placed.

use tree_sitter::Node;

use crate::checks::Diagnostic;
use crate::lang::ParsedFile;

/// One ruff flake8-annotations code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Code {
    Ann001,
    Ann002,
    Ann003,
    Ann201,
    Ann202,
    Ann204,
    Ann205,
    Ann206,
}

/// The codes with their one-line descriptions, for `gatehouse rules`.
pub(super) const CODES: &[(&str, &str)] = &[
    ("ANN001", "a function argument has no type annotation"),
    ("ANN002", "`*args` has no type annotation"),
    ("ANN003", "`**kwargs` has no type annotation"),
    ("ANN201", "a public function has no return type annotation"),
    ("ANN202", "a private function has no return type annotation"),
    (
        "ANN204",
        "a special method (`__init__`, any dunder) has no return type annotation",
    ),
    ("ANN205", "a staticmethod has no return type annotation"),
    ("ANN206", "a classmethod has no return type annotation"),
];

impl Code {
    fn id(self) -> &'static str {
        match self {
            Code::Ann001 => "ANN001",
            Code::Ann002 => "ANN002",
            Code::Ann003 => "ANN003",
            Code::Ann201 => "ANN201",
            Code::Ann202 => "ANN202",
            Code::Ann204 => "ANN204",
            Code::Ann205 => "ANN205",
            Code::Ann206 => "ANN206",
        }
    }

    fn message(self, name: &str) -> String {
        match self {
            Code::Ann001 => format!("Missing type annotation for function argument `{name}`"),
            Code::Ann002 => format!("Missing type annotation for `*{name}`"),
            Code::Ann003 => format!("Missing type annotation for `**{name}`"),
            Code::Ann201 => format!("Missing return type annotation for public function `{name}`"),
            Code::Ann202 => format!("Missing return type annotation for private function `{name}`"),
            Code::Ann204 => format!("Missing return type annotation for special method `{name}`"),
            Code::Ann205 => format!("Missing return type annotation for staticmethod `{name}`"),
            Code::Ann206 => format!("Missing return type annotation for classmethod `{name}`"),
        }
    }

    /// The help text; `evident` is the type the source makes evident (see `infer`), if any.
    fn help(self, name: &str, evident: Option<&str>) -> String {
        match (self, evident) {
            (Code::Ann001, Some("None")) => {
                format!("add a type annotation, e.g. `{name}: int | None` (its default is `None`)")
            }
            (Code::Ann001, Some(ty)) => {
                format!("add a type annotation: `{name}: {ty}`, the type of its default")
            }
            (Code::Ann001, None) => format!("add a type annotation, e.g. `{name}: int`"),
            (Code::Ann002, _) => {
                format!("annotate the type of each extra argument, e.g. `*{name}: str`")
            }
            (Code::Ann003, _) => {
                format!("annotate the type of each keyword value, e.g. `**{name}: object`")
            }
            (code, evident) => {
                let magic = (code == Code::Ann204)
                    .then(|| magic_return_type(name))
                    .flatten();
                match magic.or(evident) {
                    Some(ty) => format!("add a return annotation: `-> {ty}`"),
                    None => "add a return annotation, e.g. `-> None`".to_string(),
                }
            }
        }
    }
}

/// The return type a dunder always has (ruff's `simple_magic_return_type`).
fn magic_return_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "__str__" | "__repr__" | "__format__" => "str",
        "__bytes__" => "bytes",
        "__len__" | "__length_hint__" | "__int__" | "__index__" => "int",
        "__float__" => "float",
        "__complex__" => "complex",
        "__bool__" | "__contains__" | "__instancecheck__" | "__subclasscheck__" => "bool",
        "__init__" | "__del__" | "__setattr__" | "__delattr__" | "__setitem__" | "__delitem__"
        | "__set__" => "None",
        _ => return None,
    })
}

/// Turns nodes into diagnostics of one file.
pub(super) struct Reporter<'f, 'o> {
    pub file: &'f ParsedFile<'f>,
    pub out: &'o mut Vec<Diagnostic>,
}

impl Reporter<'_, '_> {
    pub(super) fn text(&self, node: Node<'_>) -> &str {
        self.file.source.get(node.byte_range()).unwrap_or("")
    }

    pub(super) fn len(&self) -> usize {
        self.out.len()
    }

    pub(super) fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }

    /// A finding of `code` spanning `at` (the parameter, or the function's name), about `name`;
    /// `evident`: the type the source makes evident, for the help.
    pub(super) fn report(
        &mut self,
        code: Code,
        at: Node<'_>,
        name: Node<'_>,
        evident: Option<&str>,
    ) {
        let (line, column) = self.file.start(at);
        let (end_line, end_column) = self.file.end(at);
        let name = self.text(name).to_string();
        self.out.push(Diagnostic {
            code: code.id().to_string(),
            line,
            column,
            end_line,
            end_column,
            message: code.message(&name),
            help: Some(code.help(&name, evident)),
            symbol: Some(name),
            level: None,
        });
    }
}
