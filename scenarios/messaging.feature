@critical
Feature: Realtime messaging
  Members of a room receive each new message as it is posted.

  Scenario: Two users exchange messages in realtime
    Given alice and bob are in a new room "lobby"
    When alice sends "hello bob"
    Then bob receives "hello bob" in realtime
    When bob sends "hi alice"
    Then alice receives "hi alice" in realtime
