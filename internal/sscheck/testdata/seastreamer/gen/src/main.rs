// Writes .ss files with SeaStreamer's own MessageSink and producer, closed
// and reopened, for ss-verify's tests.
use anyhow::Result;
use sea_streamer_file::{FileConnectOptions, FileId, FileStreamer, MessageSink, DEFAULT_FILE_SIZE_LIMIT};
use sea_streamer_types::{
    export::time::OffsetDateTime, MessageHeader, OwnedMessage, Producer, ShardId, StreamKey, Streamer,
};

fn ts(ms: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap()
}

fn msg(key: &str, shard: u64, seq: u64, t: u64, payload: String) -> OwnedMessage {
    OwnedMessage::new(
        MessageHeader::new(StreamKey::new(key).unwrap(), ShardId::new(shard), seq, ts(t)),
        payload.into_bytes(),
    )
}

fn path(dir: &str, name: &str) -> FileId {
    let p = format!("{dir}/{name}");
    let _ = std::fs::remove_file(&p);
    FileId::new(p)
}

// A deterministic pseudo-random sequence.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// MessageSink, any shard, seq and timestamp (seqs and timestamps going
/// back), closed with EOS and reopened with MessageSink::append, twice.
async fn sink_reopen(dir: &str, name: &str, interval: u32, streams: usize, n: [usize; 3], eos: bool) -> Result<()> {
    let id = path(dir, name);
    let mut rng = Rng(0x9E3779B97F4A7C15 ^ interval as u64 ^ streams as u64);
    let mut seqs = vec![0u64; streams];
    let mut t = 1_700_000_000_000u64;
    for (round, &count) in n.iter().enumerate() {
        if round > 0 && count == 0 {
            break;
        }
        let mut sink = if round == 0 {
            MessageSink::new(id.clone(), interval, DEFAULT_FILE_SIZE_LIMIT).await?
        } else {
            MessageSink::append(id.clone(), interval, DEFAULT_FILE_SIZE_LIMIT).await?
        };
        if round > 0 {
            println!("{name}: reopened at {}", sink.started_from());
        }
        // after a reopen, only some of the streams are written
        let span = if round == 0 { streams } else { (streams / (round + 1)).max(1) };
        let first = if round == 0 { 0 } else { round * 7 % streams };
        for i in 0..count {
            let s = (first + (rng.next() as usize % span)) % streams;
            let r = rng.next();
            // mostly up by one, sometimes back or a jump
            seqs[s] = match r % 10 {
                0 => seqs[s].saturating_sub(r % 5),
                1 => seqs[s] + 3,
                _ => seqs[s] + 1,
            };
            t = if r % 13 == 0 { t - 5 } else { t + r % 3 };
            let shard = (s % 3) as u64 * 7;
            let key = format!("s{:02}", s / 3);
            let len = (rng.next() % 60) as usize;
            let payload = format!("r{round}-{i}-{}", "x".repeat(len));
            sink.write(msg(&key, shard, seqs[s], t, payload))?;
        }
        sink.end(eos).await?;
    }
    Ok(())
}

/// MessageSink closed where its last message ends right on a beacon
/// position, then reopened: the reopened sink writes an empty beacon there.
async fn sink_boundary(dir: &str, name: &str, interval: u32, eos: bool) -> Result<()> {
    let id = path(dir, name);
    let mut sink = MessageSink::new(id.clone(), interval, DEFAULT_FILE_SIZE_LIMIT).await?;
    let mut seq = 0;
    let mut t = 1_700_000_100_000u64;
    // frame: 1 + key + 24 + 4 + payload + 3 (key "edge": 36 + payload)
    loop {
        let off = sink.offset();
        let room = interval as u64 - off % interval as u64;
        seq += 1;
        t += 1;
        if room <= 36 + 40 && room >= 36 + 1 {
            let payload = "y".repeat((room - 36) as usize);
            sink.write(msg("edge", 0, seq, t, payload))?;
            assert_eq!(sink.offset() % interval as u64 != 0, true); // a beacon followed
            if off / interval as u64 >= 2 {
                break;
            }
            continue;
        }
        let key = if seq % 2 == 0 { "edge" } else { "other" };
        sink.write(msg(key, 0, seq, t, format!("p{seq}")))?;
    }
    sink.end(eos).await?;
    let mut sink = MessageSink::append(id.clone(), interval, DEFAULT_FILE_SIZE_LIMIT).await?;
    println!("{name}: reopened at {}", sink.started_from());
    for i in 0..40u64 {
        let key = if i % 3 == 0 { "other" } else { "third" };
        sink.write(msg(key, 0, 1000 + i, t + i, format!("after-{i}")))?;
    }
    sink.end(eos).await?;
    Ok(())
}

/// SeaStreamer's producer, disconnected and connected again: its writer
/// resumes the running checksum of the first stream it writes from that
/// stream's last message checksum.
async fn producer_reopen(dir: &str, name: &str, interval: u32, streams: usize, n: [usize; 3]) -> Result<()> {
    let id = path(dir, name);
    std::fs::File::create(id.path())?;
    let mut options = FileConnectOptions::default();
    options.set_beacon_interval(interval)?;
    options.set_end_with_eos(true);
    for (round, &count) in n.iter().enumerate() {
        let streamer = FileStreamer::connect(id.to_streamer_uri()?, options.clone()).await?;
        let mut producer = streamer.create_generic_producer(Default::default()).await?;
        let span = if round == 0 { streams } else { (streams / (round + 1)).max(1) };
        let first = if round == 0 { 0 } else { round * 5 % streams };
        for i in 0..count {
            // a new stream after each reopen too
            let s = if i % 50 == 49 { streams + round } else { (first + i % span) % streams };
            let key = StreamKey::new(format!("k{s:03}"))?;
            producer.send_to(&key, format!("round {round} message {i} {}", "z".repeat(i % 37)))?;
        }
        producer.flush().await?;
        streamer.disconnect().await?;
        drop(producer);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Ok(())
}

/// MessageSink with hundreds of (key, shard) pairs at the default interval
/// of 1 MiB, in one session, long enough for several beacons: each beacon
/// carries a few of the pairs' markers, in rotation.
async fn sink_many(dir: &str, name: &str, interval: u32, streams: usize, bytes: u64) -> Result<()> {
    let id = path(dir, name);
    let mut rng = Rng(0xD1B54A32D192ED03 ^ streams as u64);
    let mut seqs = vec![0u64; streams];
    let mut t = 1_700_000_200_000u64;
    let mut sink = MessageSink::new(id.clone(), interval, DEFAULT_FILE_SIZE_LIMIT).await?;
    let mut i = 0u64;
    while sink.offset() < bytes {
        let s = rng.next() as usize % streams;
        seqs[s] += 1;
        t += rng.next() % 2;
        let key = format!("stream-{:03}", s / 2);
        let len = (rng.next() % 1200) as usize;
        sink.write(msg(&key, (s % 2) as u64, seqs[s], t, format!("m{i}-{}", "w".repeat(len))))?;
        i += 1;
    }
    sink.end(true).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)?;
    sink_reopen(&dir, "sink-reopen-640.ss", 640, 12, [400, 150, 120], true).await?;
    sink_reopen(&dir, "sink-reopen-128-noeos.ss", 128, 5, [120, 60, 40], false).await?;
    sink_reopen(&dir, "sink-reopen-1024-many.ss", 1024, 90, [1500, 700, 300], true).await?;
    sink_reopen(&dir, "sink-noreopen-1000.ss", 1000, 9, [500, 0, 0], true).await?;
    sink_boundary(&dir, "sink-boundary-1024.ss", 1024, true).await?;
    sink_boundary(&dir, "sink-boundary-640.ss", 640, true).await?;
    producer_reopen(&dir, "producer-reopen-1024.ss", 1024, 4, [300, 200, 150]).await?;
    producer_reopen(&dir, "producer-reopen-1024-many.ss", 1024, 120, [2000, 900, 400]).await?;
    if std::env::args().any(|a| a == "--large") {
        // Not kept in the repository (megabytes): written where the tests
        // that use them run.
        sink_many(&dir, "sink-many-1m.ss", 1 << 20, 600, 4 << 20).await?;
        producer_reopen(&dir, "producer-reopen-1m-many.ss", 1 << 20, 400, [36000, 9000, 5000]).await?;
    }
    Ok(())
}
