package org.frontline.uploads;

import io.vertx.core.Handler;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.frontline.platform.http.ApiRoutes;

import java.util.Map;

/** The uploads feature's routes: tus is routed by {@link TusUploadHandler}, outside the contract's validator. */
public final class UploadsApi implements ApiRoutes {
  private final TusUploadHandler tus;

  public UploadsApi(TusUploadHandler tus) {
    this.tus = tus;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of();
  }

  @Override
  public void mountRaw(Router router) {
    tus.mount(router);
  }
}
