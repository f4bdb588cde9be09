package org.frontline.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/** Starts the {@link TestEnvironment} once per run (closed when the run ends) and cleans data per test class. */
public final class FrontlineExtension implements BeforeAllCallback, ParameterResolver {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(FrontlineExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    environment(context).resetData();
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
