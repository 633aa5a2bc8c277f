//! Waiting on the daemon's event stream for something recorded elsewhere (a
//! run or a session to finish): one loop, for every service that waits.

use protocol::client::Event;
use tokio::sync::broadcast::{self, error::RecvError};

/// Looks (`look`) until it finds what it wants, looking again whenever an
/// event that `may_have_changed` it arrives, or events were missed. Listening
/// starts before the first look, so a change in between is seen either way.
/// `Ok(None)`: the daemon is shutting down.
pub async fn look_until<T, E, F, Fut>(
    events: &broadcast::Sender<Event>,
    mut look: F,
    may_have_changed: impl Fn(&Event) -> bool,
) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let mut listening = events.subscribe();
    loop {
        if let Some(found) = look().await? {
            return Ok(Some(found));
        }
        loop {
            match listening.recv().await {
                Ok(event) if may_have_changed(&event) => break,
                Ok(_) => {}
                // Missed some events: look again.
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use protocol::{agents::RunStatus, client::Event};
    use tokio::sync::broadcast;

    fn update(run: &str) -> Event {
        Event::RunUpdate {
            run_id: run.into(),
            agent: "a".into(),
            status: RunStatus::Succeeded,
            message: None,
            output_delta: None,
        }
    }

    #[tokio::test]
    async fn looks_again_only_when_a_relevant_event_arrives() {
        let (sender, _keep) = broadcast::channel(4);
        let looks = AtomicU32::new(0);
        let waiting = super::look_until(
            &sender,
            || {
                let n = looks.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, ()>((n == 1).then_some("found")) }
            },
            |e| matches!(e, Event::RunUpdate { run_id, .. } if run_id == "mine"),
        );
        let sending = async {
            tokio::task::yield_now().await;
            sender.send(update("other")).expect("send");
            sender.send(update("mine")).expect("send");
        };
        let (found, ()) = tokio::join!(waiting, sending);
        assert_eq!(found, Ok(Some("found")));
        assert_eq!(looks.load(Ordering::SeqCst), 2, "another run's update is no reason to look");
    }
}
