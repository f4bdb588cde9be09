package org.frontline.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.util.List;

/**
 * Starts the {@link TestEnvironment} once per run (closed when the run ends) and cleans data per test class. A test
 * (or a class, for answers received outside its tests) that received an answer not conforming to the contract
 * through {@link TestEnvironment#client()} fails, naming each violation ({@link ContractConformance}).
 */
public final class FrontlineExtension implements BeforeAllCallback, AfterEachCallback, AfterAllCallback,
    ParameterResolver {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(FrontlineExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    environment(context).resetData();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    failOnViolations(context, "this test");
  }

  @Override
  public void afterAll(ExtensionContext context) {
    failOnViolations(context, "this class, outside its tests");
  }

  private static void failOnViolations(ExtensionContext context, String where) {
    List<String> violations = environment(context).contract().drain();
    if (!violations.isEmpty()) {
      throw new AssertionError(violations.size() + " answer(s) received by " + where
          + " do not conform to api-spec/openapi.yaml:\n  " + String.join("\n  ", violations));
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestEnvironment.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return environment(context);
  }

  private static TestEnvironment environment(ExtensionContext context) {
    return context.getRoot().getStore(NS)
        .getOrComputeIfAbsent(TestEnvironment.class, k -> TestEnvironment.startOnce(), TestEnvironment.class);
  }
}
