//! SeaStreamer's own Kafka client (the crate sea-streamer-kafka, on
//! librdkafka), driven by adapters/kafka's tests and by
//! bench/seastreamer-kafka.sh.
//!
//! Usage:
//!
//!   sskafka consume BROKERS TOPIC GROUP [--count N] [--idle SECONDS]
//!   sskafka produce BROKERS TOPIC COUNT SIZE
//!
//! consume joins GROUP as a LoadBalanced consumer of TOPIC with
//! SeaStreamer's defaults (librdkafka's partition.assignment.strategy,
//! range,roundrobin, and its auto commit, of offsets stored once a message
//! is printed), reading from the earliest offset when the group has none. It prints one line per message,
//! `PARTITION OFFSET PAYLOAD`, and one line `assigned P,P,...` each time the
//! partitions the group gives it change (`assigned -` for none). It leaves
//! the group (committing what it printed) and exits 0 when its standard
//! input closes, on SIGTERM or SIGINT, after N messages, or after SECONDS
//! without one.
//!
//! produce sends COUNT messages of SIZE bytes to TOPIC with SeaStreamer's
//! producer, flushes, and prints one line in Go's benchmark format,
//! `BenchmarkSeaStreamerKafkaProduce COUNT T ns/op C cpu-ns/msg`. With
//! SSKAFKA_QUEUE_MESSAGES=N, librdkafka queues up to N messages
//! (queue.buffering.max.messages, default 100000) before refusing a send.

use anyhow::{Context, Result, bail};
use sea_streamer_kafka::export::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sea_streamer_kafka::{
    AutoOffsetReset, KafkaConsumerOptions, KafkaProducerOptions, KafkaStreamer,
};
use sea_streamer_types::{
    Buffer, Consumer, ConsumerGroup, ConsumerMode, ConsumerOptions, Message, Producer, StreamErr,
    StreamKey, Streamer, StreamerUri,
};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("consume") => consume(&args[1..]).await,
        Some("produce") => produce(&args[1..]).await,
        _ => bail!(
            "usage: sskafka consume BROKERS TOPIC GROUP [--count N] [--idle SECONDS]\n       sskafka produce BROKERS TOPIC COUNT SIZE"
        ),
    }
}

async fn connect(brokers: &str) -> Result<KafkaStreamer> {
    let uri: StreamerUri = format!("kafka://{brokers}").parse().context("BROKERS")?;
    Ok(KafkaStreamer::connect(uri, Default::default()).await?)
}

async fn consume(args: &[String]) -> Result<()> {
    if args.len() < 3 {
        bail!("usage: sskafka consume BROKERS TOPIC GROUP [--count N] [--idle SECONDS]");
    }
    let (mut count, mut idle) = (u64::MAX, Duration::MAX);
    let mut flags = args[3..].iter();
    while let Some(f) = flags.next() {
        let v = flags.next().with_context(|| format!("{f} needs a value"))?;
        match f.as_str() {
            "--count" => count = v.parse().context("--count")?,
            "--idle" => idle = Duration::from_secs_f64(v.parse().context("--idle")?),
            _ => bail!("unknown flag {f}"),
        }
    }

    let streamer = connect(&args[0]).await?;
    let mut options = KafkaConsumerOptions::new(ConsumerMode::LoadBalanced);
    options.set_consumer_group(ConsumerGroup::new(args[2].clone()))?;
    options.set_auto_offset_reset(AutoOffsetReset::Earliest);
    // Offsets are stored for auto commit once a message is printed, with
    // SeaStreamer's store_offset API, not by librdkafka as it hands a
    // message out (SeaStreamer's default): closing, rust-rdkafka's consumer
    // polls its queue until librdkafka is closed and discards what it gets,
    // whose offsets the default would store and commit, losing messages no
    // one printed (adapters/kafka's TestSeaStreamerGroup saw one message of a
    // leaving member lost so, about once in ten leaves).
    options.set_enable_auto_offset_store(false);
    let mut consumer = streamer
        .create_consumer(&[StreamKey::new(args[1].clone())?], options)
        .await?;

    // Standard input closing (the test ending or dropping this member) and
    // SIGTERM/SIGINT end the loop the same way.
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let on_stdin = stop_tx.clone();
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        let _ = on_stdin.send(true);
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = stop_tx.send(true);
    });

    let mut out = std::io::stdout().lock();
    let mut assigned = String::new();
    let mut received = 0u64;
    let mut last = Instant::now();
    // The assignment is looked at between messages and at least every 50 ms;
    // librdkafka changes it in its own threads.
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while received < count && last.elapsed() < idle {
        let now = assignment(consumer.inner());
        if now != assigned {
            writeln!(out, "assigned {now}")?;
            out.flush()?;
            assigned = now;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            m = consumer.next() => {
                let m = m?;
                writeln!(out, "{} {} {}", m.shard_id().id(), m.sequence(), m.message().as_str()?)?;
                out.flush()?;
                let printed = (m.stream_key(), m.shard_id(), m.sequence());
                drop(m);
                consumer.store_offset_with(&printed)?;
                received += 1;
                last = Instant::now();
            }
            _ = tick.tick() => {}
        }
    }
    // Dropping the consumer closes it: librdkafka commits the offsets
    // stored for the messages printed and leaves the group.
    drop(consumer);
    Ok(())
}

// assignment lists the partitions the group gives the consumer, in order.
fn assignment(c: &impl sea_streamer_kafka::export::rdkafka::consumer::Consumer) -> String {
    let mut ps: Vec<i32> = match c.assignment() {
        Ok(tpl) => tpl.elements().iter().map(|e| e.partition()).collect(),
        Err(_) => return "-".to_owned(),
    };
    if ps.is_empty() {
        return "-".to_owned();
    }
    ps.sort_unstable();
    ps.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

async fn produce(args: &[String]) -> Result<()> {
    if args.len() != 4 {
        bail!("usage: sskafka produce BROKERS TOPIC COUNT SIZE");
    }
    let count: usize = args[2].parse().context("COUNT")?;
    let size: usize = args[3].parse().context("SIZE")?;
    let streamer = connect(&args[0]).await?;
    let mut options = KafkaProducerOptions::default();
    if let Ok(v) = std::env::var("SSKAFKA_QUEUE_MESSAGES") {
        // librdkafka's queue.buffering.max.messages (default 100000): a
        // queue as long as COUNT never refuses a send.
        options.add_custom_option("queue.buffering.max.messages", v);
    }
    let producer = streamer
        .create_producer(StreamKey::new(args[1].clone())?, options)
        .await?;
    let payload = vec![b'x'; size];

    let mut full = 0u64; // sends refused with QueueFull, each retried after 1 ms
    let cpu0 = cpu_time()?;
    let start = Instant::now();
    for _ in 0..count {
        // librdkafka copies the payload into its queue, as the Go adapter
        // copies it; the receipt futures are dropped, as a fire-and-forget
        // sender does, and the flush below waits for every acknowledgement.
        // SeaStreamer's send does not wait for room: past librdkafka's
        // queue.buffering.max.messages (100000) it fails with QueueFull, and
        // the sender waits and tries again, as the Go adapter's Send waits.
        loop {
            match producer.send(payload.as_slice()) {
                Ok(_) => break,
                Err(StreamErr::Backend(KafkaError::MessageProduction(
                    RDKafkaErrorCode::QueueFull,
                ))) => {
                    full += 1;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
    producer.end().await?;
    let took = start.elapsed();
    let cpu = cpu_time()? - cpu0;
    eprintln!(
        "sskafka produce: {count} messages of {size} bytes in {took:?}, {full} waits for queue room"
    );
    println!(
        "BenchmarkSeaStreamerKafkaProduce\t{count}\t{:.1} ns/op\t{:.0} cpu-ns/msg",
        took.as_nanos() as f64 / count as f64,
        cpu.as_nanos() as f64 / count as f64
    );
    Ok(())
}

// cpu_time is the process's CPU time, user and system, every thread
// (librdkafka's included), as the Go benchmarks' cpu-ns/msg counts it: from
// /proc/self/stat, in clock ticks of 10 ms.
fn cpu_time() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').context("/proc/self/stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}
