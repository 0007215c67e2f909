//! `cargo bench`: how long a compile (parse, check, plan, render in memory)
//! takes per example, as a ratio to the minimal spec measured in the same run,
//! and how a spec of the largest accepted size (256 KiB of services) compares.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Mean time of `run` over enough iterations to fill about half a second.
fn measure(mut run: impl FnMut()) -> Duration {
    run();
    let mut iterations = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            run();
        }
        let elapsed = start.elapsed();
        if elapsed > Duration::from_millis(500) || iterations >= 1 << 20 {
            return elapsed / iterations;
        }
        iterations *= 2;
    }
}

fn main() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut specs: Vec<(String, Vec<u8>)> = std::fs::read_dir(examples)
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kdl"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    specs.sort();
    let mut big = b"version 1\nproject \"big\"\n".to_vec();
    let mut n = 0;
    while big.len() < (256 << 10) - 100 {
        big.extend(format!("service \"s{n}\" {{ image \"postgres:16.4\"; }}\n").bytes());
        n += 1;
    }
    specs.push(("256 KiB of services".to_owned(), big));

    let times: Vec<(String, Duration)> = specs
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                measure(|| drop(black_box(deployc::compile(name, bytes)))),
            )
        })
        .collect();
    let baseline = times
        .iter()
        .find(|(name, _)| name == "minimal.kdl")
        .map(|(_, time)| *time)
        .expect("examples/minimal.kdl exists");
    println!("{:<22} {:>12} {:>10}", "spec", "per compile", "× minimal");
    for (name, time) in &times {
        println!(
            "{name:<22} {:>9.1} µs {:>9.1}×",
            time.as_secs_f64() * 1e6,
            time.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
