//! Compares our kvproto subset with upstream's descriptors, definition by
//! definition. Every difference a peer on the wire would notice (a field's
//! number, type, label or oneof; an enum value's number; an RPC's types or
//! streaming) is reported as one line naming the definition.

use std::collections::HashMap;

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto,
};

/// Every message, enum and service of a descriptor set, by fully qualified
/// name (`.pkg.Outer.Inner`), so nested definitions are found like top ones.
#[derive(Default)]
struct Index<'a> {
    messages: HashMap<String, &'a DescriptorProto>,
    enums: HashMap<String, &'a EnumDescriptorProto>,
    services: HashMap<String, &'a ServiceDescriptorProto>,
}

impl<'a> Index<'a> {
    fn of(set: &'a FileDescriptorSet) -> Self {
        let mut index = Index::default();
        for file in &set.file {
            let prefix = match file.package() {
                "" => String::new(),
                pkg => format!(".{pkg}"),
            };
            for msg in &file.message_type {
                index.add_message(&prefix, msg);
            }
            for en in &file.enum_type {
                index.enums.insert(format!("{prefix}.{}", en.name()), en);
            }
            for svc in &file.service {
                index
                    .services
                    .insert(format!("{prefix}.{}", svc.name()), svc);
            }
        }
        index
    }

    fn add_message(&mut self, prefix: &str, msg: &'a DescriptorProto) {
        let name = format!("{prefix}.{}", msg.name());
        for nested in &msg.nested_type {
            self.add_message(&name, nested);
        }
        for en in &msg.enum_type {
            self.enums.insert(format!("{name}.{}", en.name()), en);
        }
        self.messages.insert(name, msg);
    }
}

/// Every message, enum and RPC name (`.pkg.Service.Method`) of `set`.
pub fn names(set: &FileDescriptorSet) -> std::collections::BTreeSet<String> {
    let index = Index::of(set);
    let mut out: std::collections::BTreeSet<String> = index
        .messages
        .keys()
        .chain(index.enums.keys())
        .cloned()
        .collect();
    for (name, svc) in &index.services {
        out.extend(svc.method.iter().map(|m| format!("{name}.{}", m.name())));
    }
    out
}

/// Lists every way `ours` differs from `upstream` for the definitions `ours`
/// holds. Empty means wire compatible.
pub fn compare(ours: &FileDescriptorSet, upstream: &FileDescriptorSet) -> Vec<String> {
    let ours = Index::of(ours);
    let theirs = Index::of(upstream);
    let mut problems = Vec::new();
    let mut names: Vec<_> = ours.messages.keys().collect();
    names.sort();
    for name in names {
        match theirs.messages.get(name) {
            None => problems.push(format!("message {name}: not defined upstream")),
            Some(up) => compare_message(name, ours.messages[name], up, &mut problems),
        }
    }
    let mut names: Vec<_> = ours.enums.keys().collect();
    names.sort();
    for name in names {
        match theirs.enums.get(name) {
            None => problems.push(format!("enum {name}: not defined upstream")),
            Some(up) => compare_enum(name, ours.enums[name], up, &mut problems),
        }
    }
    let mut names: Vec<_> = ours.services.keys().collect();
    names.sort();
    for name in names {
        match theirs.services.get(name) {
            None => problems.push(format!("service {name}: not defined upstream")),
            Some(up) => compare_service(name, ours.services[name], up, &mut problems),
        }
    }
    problems
}

fn compare_message(
    name: &str,
    ours: &DescriptorProto,
    up: &DescriptorProto,
    problems: &mut Vec<String>,
) {
    let is_map = |m: &DescriptorProto| m.options.as_ref().is_some_and(|o| o.map_entry());
    if is_map(ours) != is_map(up) {
        problems.push(format!(
            "message {name}: map entry {} vs upstream {}",
            is_map(ours),
            is_map(up)
        ));
    }
    for field in &ours.field {
        let at = format!("field {name}.{}", field.name());
        match up.field.iter().find(|f| f.name() == field.name()) {
            None => problems.push(format!("{at}: not defined upstream")),
            Some(upf) => compare_field(&at, (ours, field), (up, upf), problems),
        }
    }
}

fn compare_field(
    at: &str,
    (ours_msg, ours): (&DescriptorProto, &FieldDescriptorProto),
    (up_msg, up): (&DescriptorProto, &FieldDescriptorProto),
    problems: &mut Vec<String>,
) {
    if ours.number() != up.number() {
        problems.push(format!(
            "{at}: number {} vs upstream {}",
            ours.number(),
            up.number()
        ));
    }
    if ours.r#type() != up.r#type() {
        problems.push(format!(
            "{at}: type {:?} vs upstream {:?}",
            ours.r#type(),
            up.r#type()
        ));
    }
    if ours.type_name() != up.type_name() {
        problems.push(format!(
            "{at}: type {} vs upstream {}",
            ours.type_name(),
            up.type_name()
        ));
    }
    if ours.label() != up.label() {
        problems.push(format!(
            "{at}: label {:?} vs upstream {:?}",
            ours.label(),
            up.label()
        ));
    }
    if ours.proto3_optional() != up.proto3_optional() {
        problems.push(format!(
            "{at}: proto3 optional {} vs upstream",
            ours.proto3_optional()
        ));
    }
    let oneof = |msg: &DescriptorProto, f: &FieldDescriptorProto| {
        f.oneof_index
            .filter(|_| !f.proto3_optional())
            .and_then(|i| msg.oneof_decl.get(usize::try_from(i).ok()?))
            .map(|o| o.name().to_owned())
    };
    let (ours_oneof, up_oneof) = (oneof(ours_msg, ours), oneof(up_msg, up));
    if ours_oneof != up_oneof {
        problems.push(format!(
            "{at}: oneof {ours_oneof:?} vs upstream {up_oneof:?}"
        ));
    }
}

fn compare_enum(
    name: &str,
    ours: &EnumDescriptorProto,
    up: &EnumDescriptorProto,
    problems: &mut Vec<String>,
) {
    for value in &ours.value {
        match up.value.iter().find(|v| v.name() == value.name()) {
            None => problems.push(format!(
                "enum value {name}.{}: not defined upstream",
                value.name()
            )),
            Some(v) if v.number() != value.number() => problems.push(format!(
                "enum value {name}.{}: number {} vs upstream {}",
                value.name(),
                value.number(),
                v.number()
            )),
            Some(_) => {}
        }
    }
}

fn compare_service(
    name: &str,
    ours: &ServiceDescriptorProto,
    up: &ServiceDescriptorProto,
    problems: &mut Vec<String>,
) {
    for method in &ours.method {
        let at = format!("rpc {name}.{}", method.name());
        let Some(upm) = up.method.iter().find(|m| m.name() == method.name()) else {
            problems.push(format!("{at}: not defined upstream"));
            continue;
        };
        if method.input_type() != upm.input_type() {
            problems.push(format!(
                "{at}: input {} vs upstream {}",
                method.input_type(),
                upm.input_type()
            ));
        }
        if method.output_type() != upm.output_type() {
            problems.push(format!(
                "{at}: output {} vs upstream {}",
                method.output_type(),
                upm.output_type()
            ));
        }
        if method.client_streaming() != upm.client_streaming() {
            problems.push(format!(
                "{at}: client streaming {} vs upstream",
                method.client_streaming()
            ));
        }
        if method.server_streaming() != upm.server_streaming() {
            problems.push(format!(
                "{at}: server streaming {} vs upstream",
                method.server_streaming()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile_ours, ours_dir};

    fn field_mut<'a>(
        set: &'a mut FileDescriptorSet,
        msg: &str,
        field: &str,
    ) -> &'a mut FieldDescriptorProto {
        set.file
            .iter_mut()
            .flat_map(|f| f.message_type.iter_mut())
            .find(|m| m.name() == msg)
            .and_then(|m| m.field.iter_mut().find(|f| f.name() == field))
            .expect("the subset defines this field")
    }

    #[test]
    fn identical_sets_have_no_differences() {
        let ours = compile_ours(&ours_dir());
        assert_eq!(compare(&ours, &ours), Vec::<String>::new());
    }

    #[test]
    fn reports_a_wrong_field_number() {
        let ours = compile_ours(&ours_dir());
        let mut wrong = ours.clone();
        field_mut(&mut wrong, "SSTMeta", "region_id").number = Some(16);
        let problems = compare(&wrong, &ours);
        assert_eq!(
            problems,
            vec!["field .import_sstpb.SSTMeta.region_id: number 16 vs upstream 6"]
        );
    }

    #[test]
    fn reports_wrong_type_label_and_oneof_from_edited_proto_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(ours_dir()).expect("read proto dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                continue; // tipb/: not part of the kvproto files compiled here
            }
            std::fs::copy(&path, dir.path().join(path.file_name().expect("file name")))
                .expect("copy");
        }
        let path = dir.path().join("import_sstpb.proto");
        let text = std::fs::read_to_string(&path).expect("read import_sstpb.proto");
        let edited = text
            .replace(
                "    uint64 commit_ts = 1;\n    repeated Pair",
                "    int64 commit_ts = 1;\n    repeated Pair",
            )
            .replace("    repeated SSTMeta metas = 2;", "    SSTMeta metas = 2;")
            .replace(
                "        WriteBatch batch = 2;\n    }",
                "    }\n    WriteBatch batch = 2;",
            )
            .replace("rpc Write(stream WriteRequest)", "rpc Write(WriteRequest)");
        assert_ne!(edited, text, "the edits must apply to the subset text");
        std::fs::write(&path, edited).expect("write edited proto");
        let problems = compare(&compile_ours(dir.path()), &compile_ours(&ours_dir()));
        assert_eq!(
            problems,
            vec![
                "field .import_sstpb.WriteBatch.commit_ts: type Int64 vs upstream Uint64",
                "field .import_sstpb.WriteRequest.batch: oneof None vs upstream Some(\"chunk\")",
                "field .import_sstpb.WriteResponse.metas: label Optional vs upstream Repeated",
                "rpc .import_sstpb.ImportSST.Write: client streaming false vs upstream",
            ]
        );
    }

    #[test]
    fn reports_a_wrong_enum_value_and_a_missing_definition() {
        let ours = compile_ours(&ours_dir());
        let mut wrong = ours.clone();
        let file = wrong
            .file
            .iter_mut()
            .find(|f| f.package() == "kvrpcpb")
            .expect("kvrpcpb");
        let op = file
            .enum_type
            .iter_mut()
            .find(|e| e.name() == "Op")
            .expect("Op");
        op.value[1].number = Some(9);
        let mut extra = file.message_type[0].clone();
        extra.name = Some("NotUpstream".into());
        file.message_type.push(extra);
        let problems = compare(&wrong, &ours);
        assert!(
            problems.contains(&"enum value .kvrpcpb.Op.Del: number 9 vs upstream 1".to_owned()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"message .kvrpcpb.NotUpstream: not defined upstream".to_owned()),
            "{problems:?}"
        );
    }
}
