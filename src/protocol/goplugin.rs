//! go-plugin's side services that Terraform's plugin client calls: the controller (Shutdown ends
//! the process cleanly), the stdio stream (the provider writes nothing to stdout after the
//! handshake, so the stream stays open and silent) and the broker (no sub-plugins are brokered; the
//! stream is kept open so the client's broker loop stays quiet).

use super::proto::plugin::{
    grpc_broker_server::GrpcBroker, grpc_controller_server::GrpcController,
    grpc_stdio_server::GrpcStdio, ConnInfo, Empty, StdioData,
};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

/// Serves `GRPCController`; Shutdown flips the shared shutdown signal.
pub struct Controller {
    pub shutdown: watch::Sender<bool>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("shutdown requested by terraform");
        let _ = self.shutdown.send(true);
        Ok(Response::new(Empty {}))
    }
}

/// A stream that yields nothing and ends when the provider shuts down.
fn silent_until<T: Send + 'static>(
    mut shutdown: watch::Receiver<bool>,
) -> BoxStream<'static, Result<T, Status>> {
    stream::once(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    })
    .filter_map(|()| async { None })
    .boxed()
}

/// Serves `GRPCStdio`.
pub struct Stdio {
    pub shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<'static, Result<StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}

/// Serves `GRPCBroker`.
pub struct Broker {
    pub shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = BoxStream<'static, Result<ConnInfo, Status>>;

    async fn start_stream(
        &self,
        _request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}
