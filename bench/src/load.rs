//! The load generator: signed orders posted over loopback, throughput and latency reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shopbip::platforms::signature::sign_base64;

use crate::support::body;

pub struct LoadRun {
    pub concurrency: usize,
    pub requests: usize,
    pub rate: Option<u64>,
    pub first_id: u64,
    pub server_pid: Option<u32>,
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`: the only way
/// to tell, with both sides sharing two cores, how much of each request is the server's and
/// how much the load generator's.
fn cpu_time(process: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis((utime + stime) * 10))
}

pub async fn run(url: String, secret: String, run: LoadRun) -> anyhow::Result<()> {
    let LoadRun {
        concurrency,
        requests,
        rate,
        first_id,
        server_pid,
    } = run;
    // Signing is the platform's cost: done before the clock starts.
    let prepared: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..requests as u64)
            .map(|i| {
                let b = body(first_id + i);
                let s = sign_base64(&secret, &b);
                (b, s)
            })
            .collect(),
    );
    let avg = prepared.iter().map(|(b, _)| b.len()).sum::<usize>() / requests.max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(64))
        .build()?;
    let urls: Arc<Vec<String>> = Arc::new(url.split(',').map(str::to_owned).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let server = server_pid.map(|p| p.to_string());
    let server_cpu = || server.as_deref().and_then(cpu_time);
    let cpu_before = (cpu_time("self"), server_cpu());
    let started = Instant::now();
    let mut handles = Vec::new();
    let tasks = if rate.is_some() {
        requests
    } else {
        concurrency
    };
    let interval = rate.map(|r| Duration::from_secs_f64(1.0 / r as f64));
    for t in 0..tasks {
        let http = http.clone();
        let urls = urls.clone();
        let prepared = prepared.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let (i, scheduled) = match interval {
                    // Open loop: latency counts from the scheduled time (no coordinated omission).
                    Some(every) => {
                        let at = started + every.mul_f64(t as f64);
                        tokio::time::sleep_until(at.into()).await;
                        (t, at)
                    }
                    None => (next.fetch_add(1, Ordering::Relaxed), Instant::now()),
                };
                if i >= prepared.len() {
                    break;
                }
                let (b, s) = &prepared[i];
                let resp = http
                    .post(&urls[i % urls.len()])
                    .header("content-type", "application/json")
                    .header("X-WC-Webhook-Signature", s)
                    .header("X-WC-Webhook-Topic", "order.updated")
                    .header("X-WC-Webhook-Delivery-ID", i.to_string())
                    .body(b.clone())
                    .send()
                    .await;
                let status = match resp {
                    Ok(r) => {
                        let st = r.status().as_u16();
                        let _ = r.bytes().await;
                        st
                    }
                    Err(_) => 0,
                };
                results.push((status, scheduled.elapsed()));
                if interval.is_some() {
                    break;
                }
            }
            results
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for h in handles {
        all.extend(h.await?);
    }
    let elapsed = started.elapsed();
    let cpu_after = (cpu_time("self"), server_cpu());
    let per_request = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
        (Some(b), Some(a)) => format!("{:.1}us/req", (a - b).as_secs_f64() * 1e6 / requests as f64),
        _ => "n/a".to_owned(),
    };
    let ok = all.iter().filter(|(s, _)| *s == 200).count();
    let mut lat: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "requests={} ok={} failed={} body_bytes={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms mode={} client_cpu={} server_cpu={}",
        all.len(),
        ok,
        all.len() - ok,
        avg,
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        match rate {
            Some(r) => format!("open-loop@{r}/s"),
            None => format!("closed-loop@{concurrency}"),
        },
        per_request(cpu_before.0, cpu_after.0),
        per_request(cpu_before.1, cpu_after.1),
    );
    Ok(())
}
