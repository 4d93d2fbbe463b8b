//! Generates client and server code for our kvproto subset. protox parses the
//! files in pure Rust, so no protoc binary is needed on the build machine.

const FILES: &[&str] = &[
    "metapb.proto",
    "errorpb.proto",
    "kvrpcpb.proto",
    "import_sstpb.proto",
    "pdpb.proto",
    "coprocessor.proto",
    "tikvpb.proto",
    "tipb/checksum.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(FILES, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
