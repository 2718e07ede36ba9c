<?php
/**
 * Plugin Name: Syndication Worker
 * Description: Companion of syndication-worker's WordPress outlet. Registers the syndication post meta
 *   for the REST API, lets the outlet find a post by its syndication id, and points the canonical link of
 *   a syndicated post at the partner's original article.
 * Version: 1.0.0
 * License: MIT
 *
 * Install: copy this file into wp-content/mu-plugins/ (must-use plugins load without activation).
 * Without it the outlet still works (posts are found by their deterministic slug), but the meta is not
 * stored, a post whose headline changed cannot be found by id after a crash, and search engines see the
 * WordPress page as the original instead of the partner's.
 */

defined('ABSPATH') || exit;

const SYNDICATION_WORKER_POST_META = [
    'syndication_canonical_url', // the partner's canonical URL of the article
    'syndication_id',            // the worker's stable article id
    'syndication_version',       // the article version last written to this post
    'syndication_source',        // the partner (source id) the article came from
];
const SYNDICATION_WORKER_MEDIA_META = [
    'syndication_image_source',  // the partner's URL of a featured image (uploads are deduplicated by it)
    'syndication_credit',        // the photographer / agency credit of that image
];

add_action('init', function () {
    $can_edit = function () {
        return current_user_can('edit_posts');
    };
    foreach (['post' => SYNDICATION_WORKER_POST_META, 'attachment' => SYNDICATION_WORKER_MEDIA_META] as $type => $keys) {
        foreach ($keys as $key) {
            $is_url = in_array($key, ['syndication_canonical_url', 'syndication_image_source'], true);
            register_post_meta($type, $key, [
                'show_in_rest'      => true,
                'single'            => true,
                'type'              => 'string',
                'auth_callback'     => $can_edit,
                'sanitize_callback' => $is_url ? 'esc_url_raw' : 'sanitize_text_field',
            ]);
        }
    }
});

/*
 * GET /wp/v2/posts?syndication_id=ID: the outlet's lookup when the slug cannot be trusted (an editor
 * renamed it, or WordPress suffixed it with -2). Only for users who may edit posts, so the parameter
 * reveals nothing to anonymous readers that the public meta would not.
 */
add_filter('rest_post_query', function ($args, $request) {
    $id = $request->get_param('syndication_id');
    if (is_string($id) && $id !== '' && current_user_can('edit_posts')) {
        $args['meta_query'] = [['key' => 'syndication_id', 'value' => sanitize_text_field($id)]];
    }
    return $args;
}, 10, 2);

/** The partner's URL for a published syndicated post, or null for every other page. */
function syndication_worker_canonical_for($post = null) {
    $post = get_post($post);
    if (!$post || $post->post_type !== 'post') {
        return null;
    }
    $url = get_post_meta($post->ID, 'syndication_canonical_url', true);
    return (is_string($url) && $url !== '') ? $url : null;
}

/*
 * WordPress core prints <link rel="canonical"> on singular pages through rel_canonical() ->
 * wp_get_canonical_url(), which passes its answer through this filter: replacing the URL here replaces
 * core's tag instead of adding a second, contradicting one.
 */
add_filter('get_canonical_url', function ($url, $post) {
    return syndication_worker_canonical_for($post) ?? $url;
}, 10, 2);

// The SEO plugins that print their own canonical tag (and remove core's) get the same answer.
add_filter('wpseo_canonical', function ($url) {
    return is_singular('post') ? (syndication_worker_canonical_for() ?? $url) : $url;
});
add_filter('rank_math/frontend/canonical', function ($url) {
    return is_singular('post') ? (syndication_worker_canonical_for() ?? $url) : $url;
});
