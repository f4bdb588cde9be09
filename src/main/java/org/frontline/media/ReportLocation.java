package org.frontline.media;

/** Where the phone said the report was made: {@code mock} is the phone's own mock-location flag. */
public record ReportLocation(double lat, double lon, double accuracyM, boolean mock) {}
