//! The factory's two shapes, compiled and run side by side: the same kinds and configs through
//! the sync registry and the async one make the same devices, or fail with the same errors.
//! `diff sync_shape.rs async_shape.rs` shows what async changed: `async`, `.await`,
//! `#[async_trait]`, the `BoxFuture` a stored constructor returns, and the `Send + Sync` a
//! registry and its devices need to be used from tasks on several threads.

mod async_shape;
mod sync_shape;

use std::sync::Arc;

#[tokio::test]
async fn both_shapes_make_the_same_devices_and_the_same_errors() {
    let (sync_home, async_home) = (sync_shape::home(), Arc::new(async_shape::home()));
    for (kind, name) in [("light", "kitchen"), ("light", "offline"), ("kettle", "k")] {
        // A device is compared by its answer, which carries its name.
        let made_sync = sync_home
            .create(kind, &sync_shape::Config { name: name.into() })
            .map(|device| device.send("on"));
        // The async registry is shared with a spawned task, as a real one is: what its
        // `Send + Sync` bounds are for (without them, this does not compile).
        let home = Arc::clone(&async_home);
        let made_async = tokio::spawn(async move {
            let config = async_shape::Config { name: name.into() };
            match home.create(kind, &config).await {
                Ok(device) => Ok(device.send("on").await),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| e.to_string());
        assert_eq!(Ok(made_sync), made_async, "{kind} {name}");
    }
}
