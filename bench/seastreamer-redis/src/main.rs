//! Sends COUNT messages of SIZE bytes to a Redis stream with SeaStreamer's
//! own producer, flushes, and prints one line in Go's benchmark format
//! (`BenchmarkSeaStreamerRedisProduce N T ns/op`) so that bench/ratio can
//! set it beside the Go adapter's run of the same work.
//!
//! Usage: ssredisbench redis://127.0.0.1:6379/KEY COUNT SIZE

use anyhow::{Context, Result, bail};
use sea_streamer_redis::RedisStreamer;
use sea_streamer_types::{Producer, StreamUrl, Streamer};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        bail!("usage: ssredisbench redis://HOST:PORT/KEY COUNT SIZE");
    }
    let url: StreamUrl = args[1].parse().context("the stream URL")?;
    let count: usize = args[2].parse().context("COUNT")?;
    let size: usize = args[3].parse().context("SIZE")?;

    let streamer = RedisStreamer::connect(url.streamer(), Default::default()).await?;
    let producer = streamer
        .create_producer(url.stream_key()?, Default::default())
        .await?;
    let payload = vec![b'x'; size];

    let start = Instant::now();
    for _ in 0..count {
        // send takes the payload by value: a copy per message, as the Go
        // adapter makes.
        producer.send(payload.as_slice())?;
    }
    producer.end().await?; // flushes every pending send
    let took = start.elapsed();

    println!(
        "BenchmarkSeaStreamerRedisProduce\t{count}\t{:.1} ns/op",
        took.as_nanos() as f64 / count as f64
    );
    Ok(())
}
