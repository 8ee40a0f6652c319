// Package recipe rebuilds llmos's default assistant from nothing: seeded
// generators of stories, conversations (greetings, who-are-you, stories on
// request, arithmetic answered through the calculator tool) and preference
// pairs, and the pipeline that trains a tokenizer, pretrains on TinyStories
// with the generated text, fine-tunes on the conversations, aligns with DPO,
// quantizes, and evaluates the result.
package recipe
