//! `cargo bench`: how long a compile (parse, check, plan, render in memory)
//! takes per example, as a ratio to the minimal spec measured in the same run,
//! and per service for synthetic specs of 10 to 10,000 services, with the
//! share of the KDL parser. Prints markdown tables.
//!
//! `cargo bench --bench compile -- --specs DIR` also writes the synthetic
//! specs into DIR, so `benches/run` times the same specs as whole processes;
//! `--vars DIR` writes each example's plan as JSON (`<example>.json`), the
//! variables `benches/jinja2/render.py` renders the same artifacts from.

use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The time of one call of each closure: the fastest mean over `ROUNDS`
/// rounds of about 100 ms each. The rounds take turns, so every closure runs
/// under the same load, and the fastest round is the one least disturbed.
fn measure(mut runs: Vec<Box<dyn FnMut() + '_>>) -> Vec<Duration> {
    const ROUNDS: usize = 5;
    let iterations: Vec<u32> = runs
        .iter_mut()
        .map(|run| {
            run();
            let mut iterations = 1u32;
            loop {
                let start = Instant::now();
                for _ in 0..iterations {
                    run();
                }
                if start.elapsed() > Duration::from_millis(100) || iterations >= 1 << 20 {
                    return iterations;
                }
                iterations *= 2;
            }
        })
        .collect();
    let mut fastest = vec![Duration::MAX; runs.len()];
    for _ in 0..ROUNDS {
        for ((run, &n), best) in runs.iter_mut().zip(&iterations).zip(&mut fastest) {
            let start = Instant::now();
            for _ in 0..n {
                run();
            }
            *best = (*best).min(start.elapsed() / n);
        }
    }
    fastest
}

/// A valid spec with `services` services, half pulled and half built, each
/// written the way the examples write them.
fn synthetic(services: usize) -> String {
    let mut spec = String::from(
        "version 1\n\nproject \"synthetic\" {\n    root \"/srv/synthetic\"\n    compose-file \"compose.yml\"\n}\n\n",
    );
    for i in 0..services {
        if i % 2 == 0 {
            spec +=
                &format!("service \"svc-{i}\" {{ image \"registry.example.com/team/svc-{i}:1.4.2\"; }}\n");
        } else {
            spec += &format!(
                "service \"svc-{i}\" {{\n    build \"docker/svc-{i}.Dockerfile\" context=\".\"\n    timeout \"5m\"\n}}\n"
            );
        }
    }
    spec
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir_arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).unwrap_or_else(|| panic!("{flag} DIR")))
    };
    let specs_dir = dir_arg("--specs");
    let vars_dir = dir_arg("--vars");

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
    if let Some(dir) = vars_dir {
        for (name, bytes) in &specs {
            let plan = deployc::compile(name, bytes)
                .plan
                .expect("every example compiles");
            let json = serde_json::to_string(&plan).expect("a plan serialises");
            let file = std::path::Path::new(dir).join(name.replace(".kdl", ".json"));
            std::fs::write(file, json).expect("write the vars file");
        }
    }
    let runs = specs
        .iter()
        .map(|(name, bytes)| Box::new(|| drop(black_box(deployc::compile(name, bytes)))) as Box<dyn FnMut()>)
        .collect();
    let times: Vec<(String, Duration)> = specs
        .iter()
        .map(|(name, _)| name.clone())
        .zip(measure(runs))
        .collect();
    let baseline = times
        .iter()
        .find(|(name, _)| name == "minimal.kdl")
        .map(|(_, time)| *time)
        .expect("examples/minimal.kdl exists");
    println!("| example | compile in memory | × minimal |\n| --- | ---: | ---: |");
    for (name, time) in &times {
        println!(
            "| {name} | {:.0} µs | {:.1}× |",
            time.as_secs_f64() * 1e6,
            time.as_secs_f64() / baseline.as_secs_f64()
        );
    }

    println!(
        "\n| services | spec | compile in memory | per service | per added service | of which KDL parsing |\n| ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut previous: Option<(usize, Duration)> = None;
    for services in SIZES {
        let spec = synthetic(services);
        let name = format!("synthetic-{services}.kdl");
        if let Some(dir) = specs_dir {
            std::fs::write(std::path::Path::new(dir).join(&name), &spec).expect("write the synthetic spec");
        }
        let bytes = spec.as_bytes();
        let compiled = deployc::compile(&name, bytes);
        assert!(
            compiled.artifacts.is_some(),
            "{name} does not compile: {:?}",
            compiled.checked.diagnostics
        );
        let [parse, compile] = measure(vec![
            Box::new(|| drop(black_box(deployc::parse::parse(&name, bytes)))),
            Box::new(|| drop(black_box(deployc::compile(&name, bytes)))),
        ])[..] else {
            unreachable!("two measurements")
        };
        // Linear growth shows as a constant cost per added service.
        let added = previous.map_or(String::new(), |(n, time)| {
            format!(
                "{:.1} µs",
                compile.saturating_sub(time).as_secs_f64() * 1e6 / (services - n) as f64
            )
        });
        previous = Some((services, compile));
        println!(
            "| {services} | {} KiB | {:.1} ms | {:.1} µs | {added} | {:.0}% |",
            bytes.len() >> 10,
            ms(compile),
            compile.as_secs_f64() * 1e6 / services as f64,
            100.0 * parse.as_secs_f64() / compile.as_secs_f64(),
        );
    }
}
