//! The Python grammar's field ids, looked up once per process rather than by name per node.

use std::num::NonZeroU16;
use std::sync::OnceLock;

/// Field ids of the tree-sitter Python grammar that the check reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub name: NonZeroU16,
    pub alias: NonZeroU16,
    pub module_name: NonZeroU16,
    pub parameters: NonZeroU16,
    pub return_type: NonZeroU16,
    pub body: NonZeroU16,
    pub definition: NonZeroU16,
    pub left: NonZeroU16,
    pub right: NonZeroU16,
    pub object: NonZeroU16,
    pub attribute: NonZeroU16,
    pub function: NonZeroU16,
    pub arguments: NonZeroU16,
    pub value: NonZeroU16,
}

/// The field ids, resolved on first use.
pub(super) fn fields() -> &'static Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        // A field missing from the grammar gets an id no node carries, so lookups find nothing.
        let id = |name: &str| language.field_id_for_name(name).unwrap_or(NonZeroU16::MAX);
        Fields {
            name: id("name"),
            alias: id("alias"),
            module_name: id("module_name"),
            parameters: id("parameters"),
            return_type: id("return_type"),
            body: id("body"),
            definition: id("definition"),
            left: id("left"),
            right: id("right"),
            object: id("object"),
            attribute: id("attribute"),
            function: id("function"),
            arguments: id("arguments"),
            value: id("value"),
        }
    })
}
