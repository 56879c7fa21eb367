//! The hub (devices made by the factory, connected once, counted) and the bridges
//! ([`ToActor`] as an observer and as a pipeline stage).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::actor::Hub;
use async_patterns::actor::{
    self, HubCommand, HubError, HubHandle, RestartPolicy, Status, ToActor,
};
use async_patterns::factory::{Config, Device, DeviceError, Registry};
use async_patterns::observer::{Outcome, Subject};
use async_patterns::pipeline::stream::{Pipeline, StageOptions};
use async_patterns::testkit::{MockDevice, within_paused};
use futures::StreamExt;

use crate::LIMIT;

/// A registry with one kind, "mock": a device that answers `ok <message>` and panics on
/// `explode`. Counts its constructions.
fn mock_registry(made: &Arc<AtomicUsize>) -> Arc<Registry<dyn Device>> {
    let registry = Registry::new();
    let made = Arc::clone(made);
    let registered = registry.register("mock", move |config: Config| {
        made.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut device = MockDevice::new();
            device.expect_name().return_const(config.name);
            device.expect_kind().return_const("mock".to_owned());
            device
                .expect_send()
                .withf(|m| m == "explode")
                .returning(|_| panic!("the device exploded"));
            device.expect_send().returning(|m| Ok(format!("ok {m}")));
            Ok::<_, DeviceError>(device)
        }
    });
    assert!(registered.is_ok());
    Arc::new(registry)
}

#[test]
fn the_hub_connects_once_counts_and_names_what_is_missing() {
    within_paused(LIMIT, async {
        let made = Arc::new(AtomicUsize::new(0));
        let hub = Hub::new(mock_registry(&made)).with("mock", Config::new("gadget"));
        let hub = HubHandle::from(actor::spawn("hub", 8, hub));
        assert_eq!(hub.send("gadget", "ping").await.unwrap(), "ok ping");
        assert_eq!(hub.send("gadget", "pong").await.unwrap(), "ok pong");
        assert_eq!(made.load(Ordering::SeqCst), 1, "connected once");
        let devices = hub.devices().await.unwrap();
        assert_eq!((devices[0].connected, devices[0].sent), (true, 2));

        let unknown = hub.send("toaster", "on").await.unwrap_err();
        assert!(
            matches!(unknown, HubError::UnknownDevice { ref known, .. } if known == &["gadget"])
        );
        hub.add("mock", Config::new("widget")).await.unwrap();
        let twice = hub.add("mock", Config::new("widget")).await.unwrap_err();
        assert!(matches!(twice, HubError::Duplicate { ref name } if name == "widget"));
        assert_eq!(hub.devices().await.unwrap().len(), 2);
        assert_eq!(
            made.load(Ordering::SeqCst),
            1,
            "the widget connects when first used"
        );
    });
}

#[test]
fn a_supervised_hub_restarts_after_a_device_panics_and_reconnects() {
    within_paused(LIMIT, async {
        let made = Arc::new(AtomicUsize::new(0));
        let registry = mock_registry(&made);
        let policy = RestartPolicy::at_most(1).within(Duration::from_secs(60));
        let hub = actor::supervise("hub", 8, policy, move || {
            Hub::new(Arc::clone(&registry)).with("mock", Config::new("gadget"))
        });
        let hub = HubHandle::from(hub);
        assert!(hub.send("gadget", "ping").await.is_ok());
        let exploded = hub.send("gadget", "explode").await.unwrap_err();
        assert!(
            exploded
                .to_string()
                .contains("panicked handling this command: the device exploded"),
            "{exploded}"
        );
        assert_eq!(hub.actor().status(), Status::Running { restarts: 1 });
        assert!(hub.send("gadget", "ping").await.is_ok());
        assert_eq!(made.load(Ordering::SeqCst), 2, "the fresh hub reconnected");
        assert_eq!(
            hub.devices().await.unwrap()[0].sent,
            1,
            "its counts start afresh"
        );

        assert!(hub.send("gadget", "explode").await.is_err());
        let refused = hub.send("gadget", "ping").await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("its supervisor gave up: 1 restarts"),
            "{refused}"
        );
    });
}

#[test]
fn an_observer_and_a_stage_reach_the_hub_and_report_its_refusals() {
    within_paused(LIMIT, async {
        let made = Arc::new(AtomicUsize::new(0));
        let hub = Hub::new(mock_registry(&made)).with("mock", Config::new("gadget"));
        let hub = actor::spawn("hub", 8, hub);

        let subject = Subject::<String>::new();
        let _forward = subject.subscribe(ToActor::new(hub.clone(), |event: &String, reply| {
            HubCommand::Send {
                device: "gadget".into(),
                message: event.clone(),
                reply,
            }
        }));
        assert!(subject.notify(&"motion".to_owned()).await.all_delivered());

        let stage = ToActor::new(hub.clone(), |message: String, reply| HubCommand::Send {
            device: "gadget".into(),
            message,
            reply,
        });
        let out: Vec<_> = Pipeline::from_iter(["a", "b"].map(String::from))
            .stage("hub", StageOptions::ordered(2), stage)
            .into_stream()
            .collect()
            .await;
        let out: Vec<String> = out.into_iter().flatten().collect();
        assert_eq!(out, ["ok a", "ok b"]);

        hub.shut_down();
        let report = subject.notify(&"late".to_owned()).await;
        let outcome = &report.deliveries()[0].outcome;
        assert!(
            matches!(outcome, Outcome::Failed(e) if e.to_string().contains("is shutting down")),
            "{report}"
        );
    });
}
