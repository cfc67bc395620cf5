package dev.lorafleet.coordinator.api;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests too malformed to reach the routes (a bad request line, an illegal URI, oversized
 * headers) with the API's JSON error instead of Pekko's plain text. Pekko instantiates it by name
 * (see {@link ApiServer}); it needs a public no-argument constructor.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.debug("Refused a malformed HTTP request: {}", info.formatPretty());
    String summary = info.summary();
    if (summary.length() > 200) {
      summary = summary.substring(0, 200) + "…";
    }
    ErrorBody body = ErrorBody.of("request", "malformed HTTP request: " + summary, null);
    return HttpResponse.create()
        .withStatus(status.intValue())
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, ApiJson.write(body)));
  }
}
