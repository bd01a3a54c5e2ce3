//! Renders the API reference (`docs/api.md`) from the comments in `proto/`, so the reference and
//! the contracts cannot drift apart: the descriptor set built from `proto/` keeps its source
//! comments, and this module turns every Tributary file's services, RPCs, messages, fields and
//! enums into Markdown, in descriptor order.

use std::{collections::HashMap, fmt::Write as _};

use anyhow::Context as _;
use prost::Message as _;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, ServiceDescriptorProto,
    field_descriptor_proto::{Label, Type},
};

// Field numbers in `FileDescriptorProto` and friends that `SourceCodeInfo` paths are built from.
const FILE_PACKAGE: i32 = 2;
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const FILE_SERVICE: i32 = 6;
const FILE_SYNTAX: i32 = 12;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUM: i32 = 4;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

/// The command that rewrites the checked-in reference.
pub const REGENERATE: &str = "cargo run -p tributary-cli --bin tributary-api-docs > docs/api.md";

/// Renders the reference for Tributary's own descriptor set.
pub fn render_tributary() -> anyhow::Result<String> {
    render(tributary_proto::FILE_DESCRIPTOR_SET)
}

/// Renders the reference for every `tributary.*` file in an encoded `FileDescriptorSet`; imports
/// from other packages (`google.protobuf`) are left out.
pub fn render(descriptor_set: &[u8]) -> anyhow::Result<String> {
    let set = FileDescriptorSet::decode(descriptor_set).context("decoding the descriptor set")?;
    let files: Vec<&FileDescriptorProto> = set
        .file
        .iter()
        .filter(|file| file.package().starts_with("tributary."))
        .collect();

    let mut out = String::new();
    out.push_str("# Tributary API reference\n\n");
    out.push_str("<!-- Generated from the comments in proto/; do not edit. Regenerate with:\n");
    let _ = writeln!(out, "     {REGENERATE} -->");
    out.push('\n');
    out.push_str(
        "Every gRPC service, RPC, message, field and enum of Tributary, one section per\n",
    );
    out.push_str("`.proto` file.\n\n");
    for file in &files {
        let _ = writeln!(out, "- [`{}`](#{})", file.name(), anchor(file.name()));
    }
    for file in files {
        FileWriter::new(file).write(&mut out);
    }
    Ok(out)
}

/// Writes one file's section, looking comments up by their source path.
struct FileWriter<'a> {
    file: &'a FileDescriptorProto,
    comments: HashMap<Vec<i32>, String>,
}

impl<'a> FileWriter<'a> {
    fn new(file: &'a FileDescriptorProto) -> Self {
        let comments = file
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .filter_map(|location| {
                let text = clean_comment(location.leading_comments.as_deref()?);
                (!text.is_empty()).then(|| (location.path.clone(), text))
            })
            .collect();
        Self { file, comments }
    }

    fn comment(&self, path: &[i32]) -> Option<&str> {
        self.comments.get(path).map(String::as_str)
    }

    fn write(&self, out: &mut String) {
        let file = self.file;
        let _ = write!(
            out,
            "\n<a id=\"{}\"></a>\n\n## `{}`\n\nPackage `{}`.\n",
            anchor(file.name()),
            file.name(),
            file.package()
        );
        for path in [[FILE_SYNTAX], [FILE_PACKAGE]] {
            if let Some(text) = self.comment(&path) {
                let _ = write!(out, "\n{text}\n");
            }
        }
        for (index, service) in file.service.iter().enumerate() {
            self.write_service(out, service, &[FILE_SERVICE, index_of(index)]);
        }
        let prefix = file.package().to_owned();
        for (index, message) in file.message_type.iter().enumerate() {
            self.write_message(out, &prefix, message, vec![FILE_MESSAGE, index_of(index)]);
        }
        for (index, enumeration) in file.enum_type.iter().enumerate() {
            self.write_enum(out, &prefix, enumeration, &[FILE_ENUM, index_of(index)]);
        }
    }

    fn write_service(&self, out: &mut String, service: &ServiceDescriptorProto, path: &[i32]) {
        let full_name = format!("{}.{}", self.file.package(), service.name());
        let _ = write!(
            out,
            "\n<a id=\"{}\"></a>\n\n### service `{}`\n",
            anchor(&full_name),
            service.name()
        );
        if let Some(text) = self.comment(path) {
            let _ = write!(out, "\n{text}\n");
        }
        for (index, method) in service.method.iter().enumerate() {
            let stream = |streaming: Option<bool>| {
                if streaming == Some(true) {
                    "stream "
                } else {
                    ""
                }
            };
            let _ = write!(
                out,
                "\n#### `{}`\n\n`{}`({}{}) returns ({}{})\n",
                method.name(),
                method.name(),
                stream(method.client_streaming),
                type_link(self.file.package(), method.input_type()),
                stream(method.server_streaming),
                type_link(self.file.package(), method.output_type()),
            );
            let mut method_path = path.to_vec();
            method_path.extend([SERVICE_METHOD, index_of(index)]);
            if let Some(text) = self.comment(&method_path) {
                let _ = write!(out, "\n{text}\n");
            }
        }
    }

    fn write_message(
        &self,
        out: &mut String,
        scope: &str,
        message: &DescriptorProto,
        path: Vec<i32>,
    ) {
        // Map entries are shown as `map<K, V>` on their field, not as messages of their own.
        if message.options.as_ref().is_some_and(|o| o.map_entry()) {
            return;
        }
        let full_name = format!("{scope}.{}", message.name());
        let _ = write!(
            out,
            "\n<a id=\"{}\"></a>\n\n### message `{}`\n",
            anchor(&full_name),
            relative(self.file.package(), &full_name)
        );
        if let Some(text) = self.comment(&path) {
            let _ = write!(out, "\n{text}\n");
        }
        if !message.field.is_empty() {
            out.push_str("\n| field | type | label | description |\n|---|---|---|---|\n");
            for (index, field) in message.field.iter().enumerate() {
                let mut field_path = path.clone();
                field_path.extend([MESSAGE_FIELD, index_of(index)]);
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    field.name(),
                    self.field_type(message, field),
                    self.field_label(message, field),
                    self.comment(&field_path)
                        .map(table_cell)
                        .unwrap_or_default()
                );
            }
        }
        for (index, nested) in message.nested_type.iter().enumerate() {
            let mut nested_path = path.clone();
            nested_path.extend([MESSAGE_NESTED, index_of(index)]);
            self.write_message(out, &full_name, nested, nested_path);
        }
        for (index, enumeration) in message.enum_type.iter().enumerate() {
            let mut enum_path = path.clone();
            enum_path.extend([MESSAGE_ENUM, index_of(index)]);
            self.write_enum(out, &full_name, enumeration, &enum_path);
        }
    }

    fn write_enum(
        &self,
        out: &mut String,
        scope: &str,
        enumeration: &EnumDescriptorProto,
        path: &[i32],
    ) {
        let full_name = format!("{scope}.{}", enumeration.name());
        let _ = write!(
            out,
            "\n<a id=\"{}\"></a>\n\n### enum `{}`\n",
            anchor(&full_name),
            relative(self.file.package(), &full_name)
        );
        if let Some(text) = self.comment(path) {
            let _ = write!(out, "\n{text}\n");
        }
        out.push_str("\n| value | number | description |\n|---|---|---|\n");
        for (index, value) in enumeration.value.iter().enumerate() {
            let mut value_path = path.to_vec();
            value_path.extend([ENUM_VALUE, index_of(index)]);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                value.name(),
                value.number(),
                self.comment(&value_path)
                    .map(table_cell)
                    .unwrap_or_default()
            );
        }
    }

    /// The field's type; a map field shows its key and value types.
    fn field_type(&self, message: &DescriptorProto, field: &FieldDescriptorProto) -> String {
        if let Some(entry) = map_entry(message, field) {
            let key = entry.field.iter().find(|f| f.number() == 1);
            let value = entry.field.iter().find(|f| f.number() == 2);
            if let (Some(key), Some(value)) = (key, value) {
                let (key, value) = (self.scalar_or_link(key), self.scalar_or_link(value));
                // Two scalars read best as one code span; a linked value type cannot sit in one.
                return match (key.strip_prefix('`'), value.strip_prefix('`')) {
                    (Some(key), Some(value)) if !value.contains('[') => {
                        format!(
                            "`map<{}, {}>`",
                            key.trim_end_matches('`'),
                            value.trim_end_matches('`')
                        )
                    }
                    _ => format!("map of {key} to {value}"),
                };
            }
        }
        self.scalar_or_link(field)
    }

    fn scalar_or_link(&self, field: &FieldDescriptorProto) -> String {
        match field.r#type() {
            Type::Message | Type::Enum | Type::Group => {
                type_link(self.file.package(), field.type_name())
            }
            other => format!("`{}`", scalar_name(other)),
        }
    }

    fn field_label(&self, message: &DescriptorProto, field: &FieldDescriptorProto) -> String {
        if field.proto3_optional() {
            return "optional".to_owned();
        }
        if let Some(oneof) = field.oneof_index {
            let name = message
                .oneof_decl
                .get(usize::try_from(oneof).unwrap_or(usize::MAX))
                .map_or("", |decl| decl.name());
            return format!("oneof `{name}`");
        }
        if map_entry(message, field).is_some() {
            return "map".to_owned();
        }
        if field.label() == Label::Repeated {
            return "repeated".to_owned();
        }
        String::new()
    }
}

/// The nested map-entry message a `map<K, V>` field refers to, if the field is one.
fn map_entry<'m>(
    message: &'m DescriptorProto,
    field: &FieldDescriptorProto,
) -> Option<&'m DescriptorProto> {
    if field.label() != Label::Repeated || field.r#type() != Type::Message {
        return None;
    }
    let entry_name = field.type_name().rsplit('.').next()?;
    message.nested_type.iter().find(|nested| {
        nested.name() == entry_name && nested.options.as_ref().is_some_and(|o| o.map_entry())
    })
}

fn scalar_name(kind: Type) -> &'static str {
    match kind {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group => "group",
        Type::Message => "message",
        Type::Enum => "enum",
    }
}

/// A message or enum type, linked to its section when it is one of Tributary's own.
fn type_link(package: &str, type_name: &str) -> String {
    let full_name = type_name.trim_start_matches('.');
    let shown = relative(package, full_name);
    if full_name.starts_with("tributary.") {
        format!("[`{shown}`](#{})", anchor(full_name))
    } else {
        format!("`{shown}`")
    }
}

/// A type name without the current package, so same-file references stay short.
fn relative<'n>(package: &str, full_name: &'n str) -> &'n str {
    full_name
        .strip_prefix(package)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(full_name)
}

/// An HTML anchor id made of characters every Markdown renderer keeps.
fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A comment without the single space that follows `//`, and without trailing blank lines.
fn clean_comment(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    lines.join("\n").trim().to_owned()
}

/// A comment on one table row: paragraphs joined by spaces, pipes escaped.
fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn index_of(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}
