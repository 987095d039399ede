//! The walk: visits definitions in ruff's order and classifies each `def` (method or not,
//! visibility, static/class method, overload implementation).
//!
//! ruff visits module and class bodies in source order and defers every function body until
//! the enclosing level is done, so definitions come breadth-first by function nesting. The
//! overload rule ("the definition right after an `@overload` one, with the same name, is its
//! implementation") depends on that order, so the walk keeps it: a FIFO queue of function
//! bodies. Only statements are visited, never expressions: `def` cannot occur inside one.

use std::collections::VecDeque;

use tree_sitter::{Node, TreeCursor};

use super::Options;
use super::exports::ModuleScope;
use super::function::{self, Def, first_named, is_statement_container};
use super::kinds::Fields;
use super::names::{Bindings, Known, is_magic, resolve};
use super::report::Reporter;

/// Where a body sits: what ruff calls the parent definition.
#[derive(Debug, Clone, Copy)]
enum Parent {
    Module,
    Class { private: bool },
    Function,
}

/// What a `def`'s decorators say.
#[derive(Debug, Default, Clone, Copy)]
struct Decorators {
    overload: bool,
    static_method: bool,
    class_method: bool,
    setter_or_deleter: bool,
}

pub(super) struct Walker<'t, 'r, 'o> {
    pub options: Options,
    pub fields: &'static Fields,
    pub src: &'t str,
    pub module_private: bool,
    pub module: ModuleScope,
    pub rep: Reporter<'r, 'o>,
    /// Scope bindings: `[0]` the module's, then the class or function body being walked.
    scopes: Vec<Bindings<'t>>,
    queue: VecDeque<Node<'t>>,
    overloaded: Option<&'t str>,
    spare: Vec<TreeCursor<'t>>,
    aux: Option<TreeCursor<'t>>,
}

impl<'t, 'r, 'o> Walker<'t, 'r, 'o> {
    pub(super) fn new(
        options: Options,
        fields: &'static Fields,
        src: &'t str,
        rep: Reporter<'r, 'o>,
    ) -> Self {
        Walker {
            options,
            fields,
            src,
            module_private: false,
            module: ModuleScope::default(),
            rep,
            scopes: vec![Bindings::default()],
            queue: VecDeque::new(),
            overloaded: None,
            spare: Vec::new(),
            aux: None,
        }
    }

    /// Walks the module, then the function bodies level by level.
    pub(super) fn run(&mut self, root: Node<'t>) {
        let mut cursor = root.walk();
        self.walk(&mut cursor, Parent::Module);
        while let Some(body) = self.queue.pop_front() {
            self.scopes.push(Bindings::default());
            cursor.reset(body);
            self.walk(&mut cursor, Parent::Function);
            self.scopes.truncate(1);
        }
    }

    /// Visits the statements under the cursor's node (a module, block, compound statement or
    /// clause) and returns the cursor to it.
    fn walk(&mut self, cursor: &mut TreeCursor<'t>, parent: Parent) {
        if !cursor.goto_first_child() {
            return;
        }
        loop {
            let node = cursor.node();
            match node.kind() {
                "function_definition" => self.function(node, None, parent),
                "class_definition" => self.class(node, parent),
                "decorated_definition" => {
                    if let Some(def) = node.child_by_field_id(self.fields.definition.get()) {
                        match def.kind() {
                            "function_definition" => self.function(def, Some(node), parent),
                            "class_definition" => self.class(def, parent),
                            _ => {}
                        }
                    }
                }
                "import_statement" | "import_from_statement" => {
                    let scope = self.scopes.last_mut();
                    if let Some(scope) = scope {
                        scope.record_import(node, self.src, self.fields);
                    }
                }
                "expression_statement" => self.assignment(node),
                kind if is_statement_container(kind) || kind == "ERROR" => {
                    self.walk(cursor, parent)
                }
                _ => {}
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
        cursor.goto_parent();
    }

    fn function(&mut self, def: Node<'t>, decorated: Option<Node<'t>>, parent: Parent) {
        let f = self.fields;
        let Some(name_node) = def.child_by_field_id(f.name.get()) else {
            return;
        };
        let name = self.text(name_node);
        let decorators = decorated
            .map(|d| self.decorators(d, name))
            .unwrap_or_default();
        let implementation = !decorators.overload && self.overloaded == Some(name);
        self.overloaded = decorators.overload.then_some(name);
        let private = match parent {
            Parent::Module => {
                self.module_private || self.not_exported(name) || name.starts_with('_')
            }
            Parent::Class { private } => {
                private
                    || decorators.setter_or_deleter
                    || (name.starts_with('_') && !is_magic(name))
            }
            Parent::Function => true,
        };
        if !implementation {
            let def = Def {
                node: def,
                name: name_node,
                is_method: matches!(parent, Parent::Class { .. }),
                private,
                is_static: decorators.static_method,
                is_class: decorators.class_method,
            };
            let mut cursor = self.aux.take().unwrap_or_else(|| def.node.walk());
            function::check(&def, self.options, f, &mut cursor, &mut self.rep);
            self.aux = Some(cursor);
        }
        if let Some(body) = def.child_by_field_id(f.body.get()) {
            self.queue.push_back(body);
        }
        self.shadow(name);
    }

    fn class(&mut self, class: Node<'t>, parent: Parent) {
        self.overloaded = None;
        let Some(name_node) = class.child_by_field_id(self.fields.name.get()) else {
            return;
        };
        let name = self.text(name_node);
        let private = match parent {
            Parent::Module => {
                self.module_private || self.not_exported(name) || name.starts_with('_')
            }
            Parent::Class { private } => private || name.starts_with('_'),
            Parent::Function => true,
        };
        if let Some(body) = class.child_by_field_id(self.fields.body.get()) {
            let mut cursor = self.spare.pop().unwrap_or_else(|| body.walk());
            cursor.reset(body);
            self.scopes.push(Bindings::class());
            self.walk(&mut cursor, Parent::Class { private });
            self.scopes.pop();
            self.spare.push(cursor);
        }
        self.shadow(name);
    }

    fn decorators(&self, decorated: Node<'t>, name: &str) -> Decorators {
        let mut found = Decorators::default();
        let mut cursor = decorated.walk();
        for decorator in decorated.named_children(&mut cursor) {
            if decorator.kind() != "decorator" {
                continue;
            }
            let Some(expr) = first_named(decorator) else {
                continue;
            };
            let mut segments = [""; 4];
            let Some(len) = self.dotted(expr, &mut segments) else {
                continue;
            };
            let segments = &segments[..len];
            if let [object, "setter" | "deleter"] = segments {
                found.setter_or_deleter |= *object == name;
            }
            // ruff's fast path for builtins when the module never imports `builtins`: the bare
            // name counts unless the module scope, as it ends, binds it to something else.
            let known = match segments {
                ["staticmethod"] if !self.module.builtins_imported => {
                    (!self.module.rebound_static).then_some(Known::StaticMethod)
                }
                ["classmethod"] if !self.module.builtins_imported => {
                    (!self.module.rebound_class).then_some(Known::ClassMethod)
                }
                _ => resolve(segments, &self.scopes),
            };
            match known {
                Some(Known::Overload) => found.overload = true,
                Some(Known::StaticMethod) => found.static_method = true,
                Some(Known::ClassMethod) => found.class_method = true,
                None => {}
            }
        }
        found
    }

    /// The parts of `a.b.c` (at most four), or `None` for any other expression.
    fn dotted(&self, expr: Node<'t>, segments: &mut [&'t str; 4]) -> Option<usize> {
        match expr.kind() {
            "identifier" => {
                segments[0] = self.text(expr);
                Some(1)
            }
            "attribute" => {
                let object = expr.child_by_field_id(self.fields.object.get())?;
                let attribute = expr.child_by_field_id(self.fields.attribute.get())?;
                let len = self.dotted(object, segments)?;
                *segments.get_mut(len)? = self.text(attribute);
                Some(len + 1)
            }
            _ => None,
        }
    }

    /// Records what an assignment rebinds, when it can matter for decorators.
    fn assignment(&mut self, statement: Node<'t>) {
        let mut node = statement.named_child(0);
        while let Some(assignment) = node.filter(|n| n.kind() == "assignment") {
            if let Some(left) = assignment.child_by_field_id(self.fields.left.get())
                && left.kind() == "identifier"
            {
                let name = self.text(left);
                self.shadow(name);
            }
            node = assignment.child_by_field_id(self.fields.right.get());
        }
    }

    fn shadow(&mut self, name: &'t str) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.shadow(name);
        }
    }

    fn not_exported(&self, name: &str) -> bool {
        self.module
            .exports
            .as_ref()
            .is_some_and(|names| !names.iter().any(|n| n == name))
    }

    fn text(&self, node: Node<'t>) -> &'t str {
        self.src.get(node.byte_range()).unwrap_or("")
    }
}
