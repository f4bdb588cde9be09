/**
 * Photo media core, free of HTTP and database: what the upload path and the evidence workers call.
 *
 * <p>Order for one stored photo ({@link org.frontline.media.MediaBytes} over the object, ranged reads welcome):
 * <ol>
 *   <li>{@link org.frontline.media.MediaSniffer#sniff} - refused: 415 with the reason;</li>
 *   <li>{@link org.frontline.media.PixelCap#check} on the sniffed type - refused: 422 with the reason;</li>
 *   <li>on a worker: {@link org.frontline.media.PhotoMetadataReader#read}, then
 *       {@link org.frontline.media.EvidenceChecks#photoChecks} (and {@code reportChecks} once per report),
 *       {@link org.frontline.media.PerceptualHash#dHash} (store the 64 bits as a bigint; compare with
 *       {@code bit_count(a # b)} in PostgreSQL or {@link org.frontline.media.PerceptualHash#hammingDistance}),
 *       {@link org.frontline.media.DerivedImages#derive} for the thumb and display copies.</li>
 * </ol>
 * Everything here blocks (stream reads, decoding): never on an event loop. Decoding re-checks the pixel cap itself.
 * HEIC/HEIF is sniffed, capped and its EXIF read, but ImageIO cannot decode it: no dHash and no derived copies.
 */
package org.frontline.media;
