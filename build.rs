//! Compiles every `.proto` under `proto/` with protox (a protobuf compiler in pure Rust, so no
//! system `protoc` is needed), writes the encoded descriptor set for gRPC reflection, and generates
//! prost messages plus tonic clients and servers from it.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    collect_protos(Path::new("proto"), &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(&files)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("tributary_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // A finding is far larger than the other change payloads; boxing it keeps the generated
        // payload enum small.
        .boxed(".tributary.collector.v1.ChangeRecord.payload.finding")
        // So is an insight, for its filters.
        .boxed(".tributary.collector.v1.ChangeRecord.payload.insight")
        .compile_fds(compiler.file_descriptor_set())?;

    println!("cargo:rerun-if-changed=proto");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}

/// Gathers `.proto` files below `dir`, depth first.
fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
