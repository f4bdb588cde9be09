package org.frontline.testing;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test class that runs against the whole service: real PostgreSQL, a real S3 server, the real firebase-admin SDK
 * against a fake FCM endpoint, started once per test run. Each class starts from clean data (demo organisation
 * seeded). Test methods and constructors may take a {@link TestEnvironment} parameter.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(FrontlineExtension.class)
public @interface FrontlineTest {}
