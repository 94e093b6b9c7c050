@manual
Feature: Push notifications
  Checks a person performs on a real phone, signed off per build with `harness signoff`.

  Scenario: A mention wakes a locked phone
    Given bob's phone is locked with the Agent Chat app installed
    When alice mentions bob in the room "general"
    Then bob's lock screen shows a notification with alice's message
    And tapping it opens the room at that message
