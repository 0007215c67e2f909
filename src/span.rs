//! Source positions carried through the model so every diagnostic can point
//! at the spec text that caused it.

use std::fmt;
use std::ops::Deref;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte range in a spec file. Specs read from JSON have no spans.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    range: Option<(usize, usize)>,
}

impl Span {
    pub const NONE: Span = Span { range: None };

    pub fn new(offset: usize, len: usize) -> Self {
        Span {
            range: Some((offset, len)),
        }
    }

    pub fn from_kdl(span: miette::SourceSpan) -> Self {
        Span::new(span.offset(), span.len())
    }

    /// `(offset, len)` in bytes, when the spec came from a KDL file.
    pub fn range(self) -> Option<(usize, usize)> {
        self.range
    }
}

/// Positions are not part of what a spec means: two models that differ only in
/// where their values were written are the same deployment.
impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A value and the place in the spec it came from. Serialises as the bare value.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }

    /// A value the spec did not write (a default).
    pub fn unspanned(value: T) -> Self {
        Spanned {
            value,
            span: Span::NONE,
        }
    }
}

impl<T: Default> Default for Spanned<T> {
    fn default() -> Self {
        Spanned::unspanned(T::default())
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Spanned::unspanned)
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
